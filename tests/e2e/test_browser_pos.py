# ruff: noqa: F811 (the browser fixtures are imported: their users redefine the names)
"""A browser POS and the counter page's session in a real browser (headless Chromium, one
for the module): a page served from another origin calls the local API through CORS when
that origin is listed in ``[local_api] cors_origins``, and is refused by the browser itself
when it is not (nothing reaches the till); it reads the event stream over ``EventSource``
with a stream ticket. A page of the agent's own origin logs in, its cookie invisible to
the page's script (HttpOnly), its changes refused without the CSRF token, and nothing kept
in the browser's storage. Each test saves a screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.conftest import Sandbox
from tests.support.agent_process import JAN_CARD, wait_until
from tests.support.browser import browser, page, screenshot, static_site  # noqa: F401
from tests.support.browser_till import BrowserTill, browser_till

POS_PAGE = "<!doctype html><title>browser POS</title><h1>POS</h1><pre id=log></pre>"

# What a browser POS does: read the till with its token, and open the event stream with a
# ticket (EventSource cannot send Authorization); the test then waits for an event.
CALL_THE_TILL = """
async ([api, token]) => {
  const auth = {Authorization: "Bearer " + token};
  const status = await fetch(api + "/v1/status", {headers: auth});
  const asked = await fetch(api + "/v1/stream-tickets", {method: "POST", headers: auth});
  const ticket = await asked.json();
  window.received = [];
  window.opened = false;
  const stream = new EventSource(api + "/v1/events?ticket=" + encodeURIComponent(ticket.ticket));
  stream.onopen = () => { window.opened = true; };
  stream.addEventListener("customer_cleared", (e) => {
    window.received.push(e.type);
    document.getElementById("log").textContent += "event: " + e.type + "\\n";
  });
  document.getElementById("log").textContent = "status " + status.status + "\\n";
  return {status: status.status, body: await status.json(), expires: ticket.expires_in_s};
}
"""

SELL_FROM_THE_PAGE = """
async ([api, token, saleId, card]) => {
  try {
    const answer = await fetch(api + "/v1/sales", {
      method: "POST",
      headers: {Authorization: "Bearer " + token, "Content-Type": "application/json"},
      body: JSON.stringify({sale_id: saleId, amount: "3.20", customer_card: card}),
    });
    return {status: answer.status};
  } catch (error) {
    return {error: String(error)};
  }
}
"""

LOG_IN_HERE = """
async ([pin, card]) => {
  const login = await fetch("/v1/counter/session", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({pin}),
  });
  const session = await login.json();
  const sale = (saleId, headers) => fetch("/v1/sales", {
    method: "POST", headers: {"Content-Type": "application/json", ...headers},
    body: JSON.stringify({sale_id: saleId, amount: "4.40", customer_card: card}),
  });
  const without = await sale("PAGE-NO-CSRF", {});
  const withToken = await sale("PAGE-CSRF", {"X-CSRF-Token": session.csrf_token});
  const opened = await new Promise((resolve) => {
    const stream = new EventSource("/v1/events");
    stream.onopen = () => { stream.close(); resolve(true); };
    stream.onerror = () => { stream.close(); resolve(false); };
  });
  return {
    login: login.status,
    cookieVisible: document.cookie.includes("register_agent_session"),
    status: (await fetch("/v1/status")).status,
    without: without.status,
    withoutCode: (await without.json()).code,
    withToken: withToken.status,
    streamOpened: opened,
    stored: localStorage.length + sessionStorage.length,
  };
}
"""


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two browser POS origins: the one the installer lists, and one it does not."""
    directory = tmp_path_factory.mktemp("pos-site")
    (directory / "index.html").write_text(POS_PAGE, encoding="utf-8")
    with static_site(directory) as listed, static_site(directory) as other:
        yield listed, other


@pytest.fixture(scope="module")
def till(
    sandbox: Sandbox, sites: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserTill]:
    sandbox.reset()
    listed = f'cors_origins = ["{sites[0]}"]'
    with browser_till(tmp_path_factory.mktemp("browser-pos"), sandbox, local_api=listed) as running:
        yield running


def test_a_listed_origin_calls_the_till_and_reads_its_events_with_a_ticket(
    page: Page, till: BrowserTill, sites: tuple[str, str], tmp_path: Path
) -> None:
    page.goto(f"{sites[0]}/index.html")
    answer: dict[str, Any] = page.evaluate(CALL_THE_TILL, [till.url, till.token])
    assert answer["status"] == 200
    assert answer["body"]["register_api"] == "reachable"
    assert answer["expires"] == 60
    page.wait_for_function("window.opened === true")
    with till.bearer() as pos:  # the till publishes an event: the page hears it
        assert pos.delete("/v1/customer").status_code == 204
    page.wait_for_function("window.received.includes('customer_cleared')")
    sold = page.evaluate(SELL_FROM_THE_PAGE, [till.url, till.token, "POS-LISTED", JAN_CARD])
    assert sold == {"status": 200}
    screenshot(page, tmp_path, "browser-pos-listed")


def test_an_origin_not_listed_is_refused_by_the_browser_and_reaches_nothing(
    page: Page, till: BrowserTill, sites: tuple[str, str], sandbox: Sandbox, tmp_path: Path
) -> None:
    page.goto(f"{sites[1]}/index.html")
    before = len(sandbox.ledger())
    sold = page.evaluate(SELL_FROM_THE_PAGE, [till.url, till.token, "POS-OTHER", JAN_CARD])
    assert "Failed to fetch" in sold.get("error", ""), sold
    screenshot(page, tmp_path, "browser-pos-not-listed")
    with till.bearer() as pos:  # the preflight was refused: the sale was never sent
        assert pos.post("/v1/sales/POS-OTHER/reprint").status_code == 404
    assert len(sandbox.ledger()) == before


def test_the_agents_own_page_logs_in_with_an_httponly_cookie_and_needs_its_csrf_token(
    page: Page, till: BrowserTill, tmp_path: Path
) -> None:
    page.goto(f"{till.url}/docs")  # a page of the agent's origin, as the counter page is
    result: dict[str, Any] = page.evaluate(LOG_IN_HERE, [till.pin, JAN_CARD])
    assert result == {
        "login": 200,
        "cookieVisible": False,  # HttpOnly: the page's script never sees the session
        "status": 200,
        "without": 403,
        "withoutCode": "csrf_token_missing",
        "withToken": 200,
        "streamOpened": True,
        "stored": 0,
    }
    cookie = next(c for c in page.context.cookies() if c["name"] == "register_agent_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    screenshot(page, tmp_path, "own-origin-session")
    with till.bearer() as pos:
        assert pos.post("/v1/sales/PAGE-NO-CSRF/reprint").status_code == 404
        wait_until(
            lambda: pos.post("/v1/sales/PAGE-CSRF/reprint").status_code == 200,
            10,
            "the page's sale recorded",
        )
