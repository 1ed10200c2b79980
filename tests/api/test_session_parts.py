"""The parts of browser access on their own (``api/session.py``): a session cookie is bound
to the token and the PIN it was issued under, a logout sticks, a stream ticket opens once,
and the login throttle makes an address wait longer with every round of wrong tries."""

from __future__ import annotations

from register_agent.api import session
from register_agent.api.session import BrowserAccess, Sessions, Throttle, Tickets

TOKEN = "the-tills-token-0123456789"


def test_a_cookie_is_bound_to_the_token_and_pin_it_was_issued_under() -> None:
    issued = Sessions(TOKEN, BrowserAccess(pin="482913"))
    cookie, csrf, _ = issued.issue()
    session_id = issued.check(cookie)
    assert session_id is not None
    assert issued.csrf_matches(session_id, csrf)
    assert not issued.csrf_matches(session_id, None)
    assert TOKEN not in cookie
    assert Sessions(TOKEN, BrowserAccess(pin="482913")).check(cookie) == session_id  # restart
    assert Sessions("another-token-0123456789", BrowserAccess(pin="482913")).check(cookie) is None
    assert Sessions(TOKEN, BrowserAccess(pin="999999")).check(cookie) is None
    issued.revoke(cookie)
    assert issued.check(cookie) is None


def test_a_ticket_opens_once() -> None:
    tickets = Tickets()
    ticket = tickets.issue()
    assert tickets.take(ticket)
    assert not tickets.take(ticket)
    assert not tickets.take("made-up")


def test_the_throttle_waits_longer_each_round() -> None:
    now = [1000.0]
    throttle = Throttle(clock=lambda: now[0])
    for _ in range(4):
        throttle.failed("10.0.0.7")
    assert throttle.wait_s("10.0.0.7") == 0
    throttle.failed("10.0.0.7")
    assert throttle.wait_s("10.0.0.7") == session.FIRST_LOCK_S
    assert throttle.wait_s("10.0.0.8") == 0  # another address is not held up
    now[0] += session.FIRST_LOCK_S
    for _ in range(5):
        throttle.failed("10.0.0.7")
    assert throttle.wait_s("10.0.0.7") == 2 * session.FIRST_LOCK_S
    throttle.succeeded("10.0.0.7")
    assert throttle.wait_s("10.0.0.7") == 0
