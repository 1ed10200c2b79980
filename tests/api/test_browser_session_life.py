"""A counter page's session across the agent's life, on a real agent process: it survives
a restart with the same token (the page stays logged in), ends when it expires, and ends
for every page at once when the installer rotates the token."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import Sandbox
from tests.support.browser_till import browser_till

NEW_TOKEN = "the-rotated-local-api-token-0c4d1e"
COOKIE = "register_agent_session"


def test_a_session_outlives_a_restart_but_not_its_expiry_or_a_new_token(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    with browser_till(tmp_path, sandbox) as till:
        with till.http() as page:  # a session of the default life: 12 hours
            csrf = page.post("/v1/counter/session", json={"pin": till.pin}).json()["csrf_token"]
            lasting = page.cookies[COOKIE]

        till.local_api = "session_ttl_s = 2"
        till.restart()
        with till.http(cookies={COOKIE: lasting}) as page:
            assert page.get("/v1/status").status_code == 200  # still logged in
            kept = page.delete("/v1/customer", headers={"X-CSRF-Token": csrf})
            assert kept.status_code == 204
        with till.http() as page:
            assert page.post("/v1/counter/session", json={"token": till.token}).status_code == 200
            short_lived = page.cookies[COOKIE]
        time.sleep(2.5)  # the short session's whole life, and a margin: not a timing check
        # sent as a replay would send it (a browser drops it itself at its Max-Age)
        with till.http(cookies={COOKIE: short_lived}) as page:
            expired = page.get("/v1/status")
            assert expired.status_code == 401
            assert expired.json()["code"] == "session_expired"
        with till.http(cookies={COOKIE: lasting}) as page:
            assert page.get("/v1/status").status_code == 200

        till.restart(token=NEW_TOKEN)
        with till.http(cookies={COOKIE: lasting}) as page:
            revoked = page.get("/v1/status")
            assert revoked.status_code == 401
            assert revoked.json()["code"] == "session_expired"
        with till.http() as page:
            assert page.post("/v1/counter/session", json={"token": NEW_TOKEN}).status_code == 200
            assert page.get("/v1/status").status_code == 200
