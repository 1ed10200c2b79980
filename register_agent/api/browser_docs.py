"""What the POS developer (and the counter page's author) reads at ``/docs`` about browsers:
the counter page's session and its CSRF token, CORS for a browser POS, stream tickets for
``EventSource``, and https. Appended to the description of ``docs.py``.
"""

BROWSER = """

**Browsers.** A page in a browser (the counter page at `/counter`, or a browser POS) has
three ways in besides the bearer token:

- *Session* (same origin, the counter page): `POST /v1/counter/session` with
  `{"token": "<the till's token>"}` or `{"pin": "<the counter PIN>"}` sets the HttpOnly,
  `SameSite=Strict` cookie `register_agent_session` (`Secure` under https) and answers
  `{"csrf_token": "...", "expires_at": "..."}`. Every request that changes something
  (POST, PUT, PATCH, DELETE) with the cookie must carry `X-CSRF-Token: <csrf_token>`
  (keep it in the page's memory, never in localStorage). Sessions last
  `[local_api] session_ttl_s` (12 h unless the installer set another); a new token or PIN
  ends them all. A reloaded page reads its CSRF token again with `GET
  /v1/counter/session`; `DELETE /v1/counter/session` logs out. Repeated wrong logins from one
  address make it wait (`429 too_many_attempts`, `Retry-After`).
- *CORS* (a browser POS on another origin): the installer lists the POS's origin in
  `[local_api] cors_origins` (e.g. `https://pos.example.com`). Its preflights are
  answered without a token, its answers are readable; any other origin gets no CORS
  header, so its browser refuses. It sends the bearer token like any POS.
- *Stream tickets*: `EventSource` cannot send `Authorization`. `POST /v1/stream-tickets`
  (bearer or session) answers `{"ticket": "...", "expires_in_s": 60}`; open
  `new EventSource(base + "/v1/events?ticket=" + ticket)` within 60 s. A ticket opens
  one connection: after an error, get a new ticket and open a new `EventSource` with
  `?ticket=...&last_event_id=<the last id seen>` (a page on the agent's own origin may
  use its session cookie instead, with `withCredentials`).

A browser till on another machine needs https: the installer sets `[local_api] tls_cert`
and `tls_key`. Browser errors:

| status | code | meaning |
|---|---|---|
| 401 | `login_refused` | the token or PIN sent to log in is not the till's |
| 401 | `session_expired` | the cookie has expired, was logged out or is not the till's: log in |
| 401 | `ticket_refused` | the stream ticket is used or older than 60 s: get a new one |
| 403 | `csrf_token_missing` | a change with the cookie but without the right `X-CSRF-Token` |
| 403 | `origin_not_allowed` | a page of an origin not in `[local_api] cors_origins` |
| 429 | `too_many_attempts` | too many wrong logins: wait (`Retry-After`) |
"""

LOGIN = """
Logs the counter page (or another page on this origin) in with the till's token or the
counter PIN: sets the session cookie and answers the CSRF token every change must carry
as `X-CSRF-Token`. Wrong: `401 login_refused`; too many wrong tries: `429`.
"""

SESSION = """
The session of the cookie sent: its CSRF token and when it ends, for a page reloaded
while its session lasts (it keeps the token in memory only). Without a valid cookie:
`401 session_expired`, and the page shows its login.
"""

LOGOUT = """
Ends the session of the cookie sent (if any) and clears the cookie. Always `204`, so a
page can log out twice or after its session expired.
"""

TICKET = """
A single-use ticket for `GET /v1/events?ticket=...`, valid for 60 s, for a browser's
`EventSource` (which cannot send `Authorization`). Needs the token or a session.
"""
