"""The counter page's session and a browser's other ways in, on a real agent process: a
login with the token or the counter PIN gives an HttpOnly, SameSite=Strict cookie and a
CSRF token; every way around them is refused (no cookie, a forged or another till's
cookie, a change without the CSRF token or from an origin not listed, a used stream
ticket), wrong logins are throttled, and nothing secret reaches the agent's log. What is
refused did nothing: the sandbox's ledger and the journal are the proof.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.agent_process import JAN_CARD, wait_until
from tests.support.browser_till import BrowserTill, browser_till

LISTED = "http://pos.example.test:8080"
NOT_LISTED = "http://evil.example.test"


@pytest.fixture(scope="module")
def till(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserTill]:
    sandbox.reset()
    with browser_till(
        tmp_path_factory.mktemp("session"), sandbox, local_api=f'cors_origins = ["{LISTED}"]'
    ) as running:
        yield running


def log_in(till: BrowserTill, client: httpx.Client, **credential: str) -> str:
    answer = client.post("/v1/counter/session", json=credential)
    assert answer.status_code == 200, answer.text
    csrf: str = answer.json()["csrf_token"]
    return csrf


def receptions(sandbox: Sandbox) -> list[dict[str, object]]:
    return [row for row in sandbox.ledger() if row["kind"] == "credit_reception"]


def other_than(character: str) -> str:
    """A URL-safe base64 character that is not ``character``: a forgery must differ from
    the real cookie, which a fixed replacement would not when it happened to be the same."""
    return "B" if character == "A" else "A"


def sale(sale_id: str, amount: str = "7.10") -> dict[str, str]:
    return {"sale_id": sale_id, "amount": amount, "customer_card": JAN_CARD}


def test_a_login_with_the_token_gives_an_httponly_strict_cookie_and_a_csrf_token(
    till: BrowserTill, sandbox: Sandbox
) -> None:
    with till.http() as client:
        answer = client.post("/v1/counter/session", json={"token": till.token})
        assert answer.status_code == 200
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("register_agent_session=")
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/"} <= attributes
        assert "secure" not in attributes  # plain http: a Secure cookie would never return
        assert till.token not in cookie
        body = answer.json()
        assert set(body) == {"csrf_token", "expires_at"}
        assert client.get("/v1/status").status_code == 200  # reading needs the cookie only
        before = len(receptions(sandbox))
        sold = client.post(
            "/v1/sales", json=sale("SESSION-1"), headers={"X-CSRF-Token": body["csrf_token"]}
        )
        assert sold.status_code == 200, sold.text
    wait_until(lambda: len(receptions(sandbox)) == before + 1, 10, "the sale's credits")


def test_the_counter_pin_logs_in_and_a_wrong_one_is_refused(till: BrowserTill) -> None:
    with till.http() as client:
        wrong = client.post("/v1/counter/session", json={"pin": "000000"})
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "login_refused"
        assert "set-cookie" not in wrong.headers
        csrf = log_in(till, client, pin=till.pin)
        assert client.get("/v1/customer").status_code in (200, 204)
        assert csrf
    with till.http() as client:
        both = client.post("/v1/counter/session", json={"pin": till.pin, "token": till.token})
        assert both.status_code == 422


def test_no_cookie_and_a_forged_cookie_are_refused(till: BrowserTill, sandbox: Sandbox) -> None:
    with till.http() as client:
        none = client.post("/v1/sales", json=sale("NO-COOKIE"))
        assert none.status_code == 401
        assert client.get("/v1/status").status_code == 401
        csrf = log_in(till, client, token=till.token)
        real = client.cookies["register_agent_session"]
    session_id, expires, mac = real.split(".")
    forgeries = {
        "a changed MAC": f"{session_id}.{expires}.{mac[:-1]}{other_than(mac[-1])}",
        "a later expiry": f"{session_id}.{int(expires) + 86400}.{mac}",
        "another session id": f"{other_than(session_id[0])}{session_id[1:]}.{expires}.{mac}",
        "garbage": "not-a-session",
    }
    before = len(receptions(sandbox))
    for number, (what, forged) in enumerate(forgeries.items()):
        with till.http(cookies={"register_agent_session": forged}) as client:
            answer = client.post(
                "/v1/sales", json=sale(f"FORGED-{number}"), headers={"X-CSRF-Token": csrf}
            )
            assert answer.status_code == 401, what
            assert answer.json()["code"] == "session_expired", what
    with till.bearer() as pos:  # refused did nothing: the journal does not know them
        for number in range(len(forgeries)):
            assert pos.post(f"/v1/sales/FORGED-{number}/reprint").status_code == 404
    assert len(receptions(sandbox)) == before


def test_a_change_without_the_csrf_token_or_from_an_origin_not_listed_is_refused(
    till: BrowserTill,
) -> None:
    with till.http() as client:
        csrf = log_in(till, client, token=till.token)
        missing = client.post("/v1/sales", json=sale("NO-CSRF"))
        assert missing.status_code == 403
        assert missing.json()["code"] == "csrf_token_missing"
        wrong = client.post("/v1/sales", json=sale("BAD-CSRF"), headers={"X-CSRF-Token": "x"})
        assert wrong.status_code == 403
        foreign = client.post(
            "/v1/sales",
            json=sale("FOREIGN"),
            headers={"X-CSRF-Token": csrf, "Origin": NOT_LISTED},
        )
        assert foreign.status_code == 403
        assert foreign.json()["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in foreign.headers
        cleared = client.delete("/v1/customer", headers={"X-CSRF-Token": csrf})
        assert cleared.status_code == 204  # the same session, with its token, may
    with till.bearer() as pos:
        for sale_id in ("NO-CSRF", "BAD-CSRF", "FOREIGN"):
            assert pos.post(f"/v1/sales/{sale_id}/reprint").status_code == 404, sale_id


def test_cors_answers_a_listed_origins_preflight_and_nothing_to_others(
    till: BrowserTill,
) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    with till.http() as client:
        listed = client.options("/v1/sales", headers={"Origin": LISTED, **asked})
        assert listed.status_code == 204
        assert listed.headers["access-control-allow-origin"] == LISTED
        assert listed.headers["access-control-allow-credentials"] == "true"
        allowed = listed.headers["access-control-allow-headers"].lower()
        for header in ("authorization", "content-type", "last-event-id", "x-csrf-token"):
            assert header in allowed
        assert "POST" in listed.headers["access-control-allow-methods"]
        other = client.options("/v1/sales", headers={"Origin": NOT_LISTED, **asked})
        assert other.status_code == 403
        assert not [name for name in other.headers if name.startswith("access-control-")]
        read = client.get(
            "/v1/status", headers={"Origin": LISTED, "Authorization": f"Bearer {till.token}"}
        )
        assert read.headers["access-control-allow-origin"] == LISTED
        unlisted = client.get(
            "/v1/status", headers={"Origin": NOT_LISTED, "Authorization": f"Bearer {till.token}"}
        )
        assert "access-control-allow-origin" not in unlisted.headers


def test_a_stream_ticket_opens_the_event_stream_once(till: BrowserTill) -> None:
    with till.bearer() as pos:
        ticket = pos.post("/v1/stream-tickets").json()
    assert ticket["expires_in_s"] == 60
    with till.http() as browser:
        with browser.stream("GET", f"/v1/events?ticket={ticket['ticket']}") as stream:
            assert stream.status_code == 200
            assert next(stream.iter_text()).startswith(": register-agent events")
        again = browser.get(f"/v1/events?ticket={ticket['ticket']}")
        assert again.status_code == 401
        assert again.json()["code"] == "ticket_refused"
        assert browser.get("/v1/events?ticket=made-up").status_code == 401
        # a ticket opens the event stream only, never another route
        other = browser.get(f"/v1/status?ticket={ticket['ticket']}")
        assert other.status_code == 401


def test_the_session_cookie_opens_the_event_stream_and_logging_out_ends_it(
    till: BrowserTill,
) -> None:
    with till.http() as client:
        csrf = log_in(till, client, token=till.token)
        with client.stream("GET", "/v1/events") as stream:
            assert stream.status_code == 200
        ticket = client.post("/v1/stream-tickets", headers={"X-CSRF-Token": csrf})
        assert ticket.status_code == 200
        cookie = client.cookies["register_agent_session"]
        reloaded = client.get("/v1/counter/session")  # a reloaded page reads its token again
        assert reloaded.status_code == 200
        assert reloaded.json()["csrf_token"] == csrf
        assert client.delete("/v1/counter/session").status_code == 204
    with till.http(cookies={"register_agent_session": cookie}) as replay:
        assert replay.get("/v1/status").status_code == 401
        assert replay.get("/v1/counter/session").status_code == 401


def test_repeated_wrong_logins_are_throttled(till: BrowserTill) -> None:
    # from an address of its own (127.0.0.2): the other tests' logins come from 127.0.0.1
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with till.http(transport=transport) as client:
        answers = [
            client.post("/v1/counter/session", json={"pin": f"00000{n}"}).status_code
            for n in range(5)
        ]
        assert answers == [401] * 5
        locked = client.post("/v1/counter/session", json={"pin": till.pin})
        assert locked.status_code == 429  # even the right PIN waits now
        assert locked.json()["code"] == "too_many_attempts"
        assert int(locked.headers["retry-after"]) > 0
        assert "set-cookie" not in locked.headers
    with till.http() as elsewhere:  # another address is not held up
        log_in(till, elsewhere, pin=till.pin)


def test_nothing_secret_reaches_the_log(till: BrowserTill) -> None:
    with till.http() as client:
        csrf = log_in(till, client, pin=till.pin)
        cookie = client.cookies["register_agent_session"]
        ticket = client.post("/v1/stream-tickets", headers={"X-CSRF-Token": csrf}).json()
        with client.stream("GET", f"/v1/events?ticket={ticket['ticket']}") as stream:
            assert stream.status_code == 200
    log = till.output()
    assert "counter page: logged in" in log
    for secret in (till.token, till.pin, cookie, cookie.split(".")[2], csrf, ticket["ticket"]):
        assert secret not in log
