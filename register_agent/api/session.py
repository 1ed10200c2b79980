"""Browser access to the local API beside the POS's bearer token: the counter page's
session (a cookie from a login with the token or the counter PIN, CSRF-protected) and the
short-lived stream tickets a browser's ``EventSource`` (which cannot send a header) puts in
``GET /v1/events?ticket=...``. ``auth.py``'s guard checks both; ``session_routes.py``
hands them out.

A session is a signed cookie, not a row kept somewhere: ``<id>.<expiry>.<mac>``, its MAC
keyed by a digest of the till's token (and of the PIN), so the cookie survives a restart of
the agent (the counter page stays logged in) and rotating the token (or the PIN) revokes
every session at once. The token itself is never kept, the cookie never holds it, and
nothing here is logged but the fact of a login, a refusal or a logout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from register_agent.config import LocalApiConfig

COOKIE = "register_agent_session"
CSRF_HEADER = "x-csrf-token"
SESSION_PATH = "/v1/counter/session"
TICKETS_PATH = "/v1/stream-tickets"
EVENTS_PATH = "/v1/events"
#: a stream ticket is good for one connection within this many seconds
TICKET_TTL_S = 60
#: at most this many unused tickets are kept (a POS that asks in a loop fills no memory)
MAX_TICKETS = 256
#: failed logins from one address before it must wait, and the first wait (doubled for
#: every further round of failures, up to MAX_LOCK_S): a 6-digit PIN stays out of reach
FAILURES_BEFORE_LOCK = 5
FIRST_LOCK_S = 30.0
MAX_LOCK_S = 900.0
#: addresses whose failures are remembered before those no longer waiting are forgotten
MAX_CLIENTS = 1024


@dataclass(frozen=True)
class BrowserAccess:
    """What ``[local_api]`` says about browsers: the counter PIN, how long a session lasts,
    the origins a browser POS may call from, and whether cookies are ``Secure`` (https)."""

    pin: str | None = None
    session_ttl_s: float = 43200.0
    cors_origins: tuple[str, ...] = ()
    secure: bool = False


def browser_access(config: LocalApiConfig) -> BrowserAccess:
    """``[local_api]``'s browser keys; the cookie is ``Secure`` exactly when TLS is on."""
    pin = config.counter_pin.get_secret_value().strip() if config.counter_pin else None
    return BrowserAccess(
        pin=pin or None,
        session_ttl_s=config.session_ttl_s,
        cors_origins=config.cors_origins,
        secure=config.tls_cert is not None,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Sessions:
    """Issues and checks session cookies and their CSRF tokens; remembers logouts."""

    def __init__(self, token: str, access: BrowserAccess) -> None:
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        pin_digest = hashlib.sha256((access.pin or "").encode("utf-8")).digest()
        self._key = hmac.new(digest + pin_digest, b"register-agent session", "sha256").digest()
        self._ttl_s = access.session_ttl_s
        #: session id -> its expiry (wall clock): logged out before they expired
        self._revoked: dict[str, int] = {}

    def _mac(self, *parts: str) -> str:
        return _b64(hmac.new(self._key, ".".join(parts).encode("ascii"), "sha256").digest())

    def issue(self) -> tuple[str, str, int]:
        """A new session: its cookie value, its CSRF token and its expiry (Unix time)."""
        session_id = secrets.token_urlsafe(18)
        expires = int(time.time() + self._ttl_s)
        cookie = f"{session_id}.{expires}.{self._mac('session', session_id, str(expires))}"
        return cookie, self.csrf_of(session_id), expires

    def csrf_of(self, session_id: str) -> str:
        return self._mac("csrf", session_id)

    def check(self, cookie: str) -> str | None:
        """The session id of a valid, unexpired, not logged-out cookie; else None."""
        session_id, _, rest = cookie.partition(".")
        expires, _, mac = rest.partition(".")
        if not session_id or not expires.isdigit() or len(expires) > 12:
            return None
        if not hmac.compare_digest(mac, self._mac("session", session_id, expires)):
            return None
        if int(expires) <= time.time() or session_id in self._revoked:
            return None
        return session_id

    def csrf_matches(self, session_id: str, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented, self.csrf_of(session_id))

    def revoke(self, cookie: str) -> None:
        # A logout lasts until the cookie would have expired; it is kept in memory only: a
        # browser drops the cookie on logout, and rotating the token revokes for good
        session_id = self.check(cookie)
        if session_id is not None:
            now = time.time()
            self._revoked = {s: e for s, e in self._revoked.items() if e > now}
            self._revoked[session_id] = int(cookie.split(".")[1])


class Tickets:
    """Single-use stream tickets; only their digests are kept, each for ``TICKET_TTL_S``."""

    def __init__(self) -> None:
        self._valid: dict[bytes, float] = {}

    def issue(self) -> str:
        now = time.monotonic()
        self._valid = {d: t for d, t in self._valid.items() if t > now}
        while len(self._valid) >= MAX_TICKETS:
            del self._valid[next(iter(self._valid))]  # the oldest goes first
        ticket = secrets.token_urlsafe(24)
        self._valid[hashlib.sha256(ticket.encode()).digest()] = now + TICKET_TTL_S
        return ticket

    def take(self, ticket: str) -> bool:
        """True once for a ticket issued less than ``TICKET_TTL_S`` ago."""
        until = self._valid.pop(hashlib.sha256(ticket.encode()).digest(), None)
        return until is not None and until > time.monotonic()


class Throttle:
    """Failed logins per client address: after ``FAILURES_BEFORE_LOCK`` the address waits."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._failures: dict[str, tuple[int, float]] = {}
        self._clock = clock

    def wait_s(self, client: str) -> float:
        """How long ``client`` must still wait before its next try (0: it may try)."""
        _, until = self._failures.get(client, (0, 0.0))
        return max(0.0, until - self._clock())

    def failed(self, client: str) -> None:
        if len(self._failures) >= MAX_CLIENTS:  # many addresses: forget those not waiting
            now = self._clock()
            self._failures = {c: f for c, f in self._failures.items() if f[1] > now}
        count, until = self._failures.get(client, (0, 0.0))
        count += 1
        if count % FAILURES_BEFORE_LOCK == 0:
            rounds = count // FAILURES_BEFORE_LOCK - 1
            until = self._clock() + min(MAX_LOCK_S, FIRST_LOCK_S * 2**rounds)
        self._failures[client] = (count, until)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
