"""The counter page in a real browser (headless Chromium, ``tests/support/browser.py``)
against the real ``register-agent run`` process, with a pty card reader, the TCP virtual
printer and the sandbox: a cashier logs in, sees the scanned customer appear, types an
amount and presses Enter, claims a reward, sells while the Register API is down, refunds
the last sale, confirms a large amount. Each test checks what the till really did (the
sandbox's ledger, the journal's rows, the printer's bytes) and saves a screenshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from drivers.virtual_printer import VirtualState
from tests.conftest import Sandbox
from tests.support.agent_harness import TOKEN, AgentProcess, wait_for
from tests.support.browser import screenshot
from tests.support.voucher_support import voucher_agent, vouchers_by_code

JAN_CARD, JAN_ID = "A1B2C3D4", 7731
PIN = "482916"
#: how long the page may take to show what the till pushed: a bound so a broken page fails
#: instead of hanging, wide enough for a loaded 2-core machine (a cashier sees it at once)
SHOWN_MS = 5_000

pytestmark = pytest.mark.timeout(120)


def till_with(home: Path, sandbox: Sandbox, **till: str) -> AgentProcess:
    """A v3 till whose ``[till]`` section also holds ``till`` (e.g. confirm_above)."""
    agent = AgentProcess(home, sandbox, "v3", receipt_wait_s=1.5)
    text = agent.config_path.read_text(encoding="utf-8")
    keys = "".join(f"{key} = {value}\n" for key, value in till.items())
    agent.config_path.write_text(text.replace("[till]\n", f"[till]\n{keys}", 1), encoding="utf-8")
    return agent


@pytest.fixture
def till(sandbox_clean: Sandbox, tmp_path: Path) -> Iterator[AgentProcess]:
    agent = till_with(tmp_path, sandbox_clean)
    try:
        yield agent.start()
    finally:
        agent.close()


def log_in(page: Page, agent: AgentProcess, secret: str = TOKEN) -> None:
    """Open the page, log in (the till's token, or the counter PIN), wait for its stream."""
    page.goto(f"{agent.url}/counter")
    page.locator("#secret").fill(secret)
    page.locator("#secret").press("Enter")
    expect(page.locator("#counter-panel")).to_be_visible()
    # the stream is open: what the till pushes from now on reaches the page
    page.wait_for_function("() => state.events !== null && state.events.readyState === 1")


def scan_jan(page: Page, agent: AgentProcess) -> None:
    """Jan's card on the reader (the page shows no customer before: a sale took the last)."""
    expect(page.locator("#customer-card")).to_be_hidden()
    agent.scan(JAN_CARD, wait=False)
    expect(page.locator("#customer-card")).to_be_visible(timeout=SHOWN_MS)
    expect(page.locator("#customer-name")).to_have_text("Jan")


def sell(page: Page, amount: str) -> None:
    """The cashier types the amount on the keyboard and presses Enter."""
    field = page.locator("#amount")
    field.click()
    field.press_sequentially(amount)
    field.press("Enter")


def ledger(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == kind]


def test_a_scanned_customer_appears_and_a_sale_shows_its_credits(
    page: Page, till: AgentProcess, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    log_in(page, till)
    scan_jan(page, till)

    expect(page.locator("#customer-tail")).to_have_text("•••• C3D4")
    expect(page.locator("#customer-balance")).to_have_text("150 points")
    expect(page.locator("#rewards button", has_text="Free coffee")).to_be_visible()
    shown = page.locator("body").inner_text()
    assert JAN_CARD not in shown
    assert "jan@example.org" not in shown  # the program's e-mail: the cashier never typed it
    screenshot(page, tmp_path, "customer")

    sell(page, "12.50")

    expect(page.locator("#sale-result")).to_contain_text("+12 points. Balance: 162.")
    screenshot(page, tmp_path, "sale")
    (sale,) = till.journal_rows("sales")
    assert sale["amount_cents"] == 1250
    assert sale["sale_id"].startswith("counter-S-")  # the page made the sale's id
    credits = ledger(sandbox_clean, "credit_reception")
    assert [(row["member"]["id"], row["credits"]) for row in credits] == [(JAN_ID, 12)]
    receipt = wait_for(
        lambda: [job for job in till.printer.printed() if b"12.50" in job], 5, "the receipt"
    )[0]
    assert b"Points earned" in receipt
    assert b"162" in receipt
    assert JAN_CARD.encode() not in receipt

    till.scan(JAN_CARD, wait=False)  # Jan again: the page shows the balance the sale left
    expect(page.locator("#customer-balance")).to_have_text("162 points", timeout=SHOWN_MS)
    screenshot(page, tmp_path, "counter")  # docs/counter-page.png


def test_a_reward_is_claimed_with_its_button(
    page: Page, till: AgentProcess, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    log_in(page, till)
    scan_jan(page, till)

    page.locator("#rewards button", has_text="Free coffee").click()

    expect(page.locator("#customer-message")).to_contain_text(
        "Reward claimed: Free coffee. New balance: 100."
    )
    expect(page.locator("#customer-balance")).to_have_text("100 points")
    screenshot(page, tmp_path, "claim")
    claims = ledger(sandbox_clean, "reward_reception")
    assert [row["credits"] for row in claims] == [-50]
    assert [row["state"] for row in till.journal_rows("reward_claims")] == ["done"]


def test_the_banner_says_the_api_is_down_and_the_sale_is_still_recorded(
    page: Page, till: AgentProcess, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    log_in(page, till)
    expect(page.locator("#banner")).to_be_hidden()
    sandbox_clean.set_fault(mode="error_503")
    till.scan(JAN_CARD, wait=False)
    expect(page.locator("#customer-offline")).to_be_visible(timeout=SHOWN_MS)

    sell(page, "8.00")

    expect(page.locator("#sale-result")).to_contain_text("Points will be added.")
    expect(page.locator("#banner")).to_contain_text("cannot be reached. Keep selling")
    screenshot(page, tmp_path, "offline")
    (sale,) = till.journal_rows("sales")
    assert sale["amount_cents"] == 800
    assert ledger(sandbox_clean, "credit_reception") == []

    sandbox_clean.clear_faults()  # the API is back: the outbox delivers, the page hears it
    till.drain()
    assert [row["credits"] for row in ledger(sandbox_clean, "credit_reception")] == [8]
    expect(page.locator("#sales-list li").first).to_contain_text("+8 points")
    expect(page.locator("#banner")).to_be_hidden(timeout=SHOWN_MS + 5_000)


def test_the_banner_says_the_printer_is_out_of_paper_and_the_receipt_prints_after(
    page: Page, till: AgentProcess, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    log_in(page, till)
    till.printer.state = VirtualState.PAPER_OUT
    scan_jan(page, till)

    sell(page, "6.00")

    expect(page.locator("#sale-result")).to_contain_text("+6 points. Balance: 156.")
    expect(page.locator("#banner")).to_contain_text("The printer has a problem (paper out)")
    expect(page.locator("#banner")).to_contain_text("check paper, cover and power")
    screenshot(page, tmp_path, "paper-out")
    assert [row["amount_cents"] for row in till.journal_rows("sales")] == [600]

    till.printer.state = VirtualState.OK  # a new roll: the held receipt comes out
    wait_for(lambda: [job for job in till.printer.printed() if b"6.00" in job], 10, "the receipt")
    expect(page.locator("#banner")).to_be_hidden(timeout=SHOWN_MS + 5_000)


def test_the_last_sale_is_refunded(
    page: Page, till: AgentProcess, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    log_in(page, till)
    scan_jan(page, till)
    sell(page, "15.00")
    expect(page.locator("#sale-result")).to_contain_text("+15 points")

    page.locator("#sales-list li").first.locator("[data-action=refund]").click()

    expect(page.locator("#sales-message")).to_contain_text("Refund of sale €15.00 recorded")
    expect(page.locator("#sales-list li").first).to_contain_text("Refund")
    screenshot(page, tmp_path, "refund")
    page.reload()  # still logged in: the session's cookie gets its CSRF token again
    expect(page.locator("#counter-panel")).to_be_visible()
    expect(page.locator("#login-panel")).to_be_hidden()
    till.drain()
    reversed_ = ledger(sandbox_clean, "reverse_credit_reception")
    assert [row["credits"] for row in reversed_] == [-15]
    (refund,) = till.journal_rows("refunds")
    assert refund["refund_id"].startswith("counter-R-")  # resent after a lost answer: once


def test_a_large_amount_is_confirmed_before_it_is_sold_and_a_card_earns_once(
    page: Page, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    agent = till_with(tmp_path, sandbox_clean, confirm_above='"100.00"', card_lock_s="600")
    try:
        agent.start()
        log_in(page, agent)
        scan_jan(page, agent)

        sell(page, "1250")  # 12.50 typed without its dot

        expect(page.locator("#confirm-question")).to_have_text("Did you mean €1250.00?")
        assert agent.journal_rows("sales") == []  # asked first, nothing recorded
        screenshot(page, tmp_path, "confirm")
        page.keyboard.press("Escape")  # no: the cashier corrects it
        expect(page.locator("#confirm")).to_be_hidden()
        page.locator("#amount").fill("")
        sell(page, "250")
        expect(page.locator("#confirm-question")).to_have_text("Did you mean €250.00?")
        page.keyboard.press("Enter")  # yes

        expect(page.locator("#sale-result")).to_contain_text("+250 points")
        expect(page.locator("#sales-list li")).to_have_count(1)
        assert [row["amount_cents"] for row in agent.journal_rows("sales")] == [25000]

        scan_jan(page, agent)  # the same card again, within the lock
        sell(page, "4.00")
        expect(page.locator("#sale-result")).to_contain_text(
            "This card earned points moments ago: this sale is recorded without points."
        )
        screenshot(page, tmp_path, "locked")
        assert [row["amount_cents"] for row in agent.journal_rows("sales")] == [25000, 400]
        agent.drain()
        credits = ledger(sandbox_clean, "credit_reception")
        assert [row["credits"] for row in credits] == [250]
    finally:
        agent.close()


def test_the_page_speaks_the_tills_language_and_keeps_no_secret(
    page: Page, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    agent = AgentProcess(tmp_path, sandbox_clean, "v3")
    text = agent.config_path.read_text(encoding="utf-8")
    text = text.replace("[local_api]\n", f'[local_api]\ncounter_pin = "{PIN}"\n', 1)
    agent.config_path.write_text(text + '\n[receipt]\nlanguage = "nl"\n', encoding="utf-8")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        agent.start()
        page.goto(f"{agent.url}/counter")
        expect(page.locator("h1")).to_have_text("Kassa")
        page.locator("#secret").fill("not-the-token-of-this-till")
        page.locator("#secret").press("Enter")
        expect(page.locator("#login-message")).to_contain_text("klopt niet")
        log_in(page, agent, PIN)  # the cashier's PIN, not the till's token
        scan_jan(page, agent)
        expect(page.locator("#customer-balance")).to_have_text("150 punten")
        sell(page, "3,50")  # a Dutch cashier types a comma
        expect(page.locator("#sale-result")).to_contain_text("+3 punten. Saldo: 153.")
        screenshot(page, tmp_path, "dutch")

        page.locator("#language").click()
        expect(page.locator("h1")).to_have_text("Counter")

        kept = page.evaluate(
            "JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage),"
            " document.cookie, document.documentElement.outerHTML])"
        )
        assert TOKEN not in kept
        assert PIN not in kept
        assert JAN_CARD not in kept
        assert "register_agent_session" not in kept  # the cookie is HttpOnly
        assert not [line for line in console if TOKEN in line or PIN in line]
        assert TOKEN not in agent.log()
        assert PIN not in agent.log()
    finally:
        agent.close()


def test_a_customer_without_a_card_found_a_new_card_handed_out_a_giftcard_paid(
    page: Page, till: AgentProcess, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    log_in(page, till)
    page.locator("summary", has_text="Find a customer by e-mail").click()
    page.locator("#find-email").fill("marie@example.org")
    page.locator("#find-email").press("Enter")
    expect(page.locator("#customer-name")).to_have_text("marie@example.org")  # as typed
    expect(page.locator("#customer-balance")).to_have_text("20 points")
    sell(page, "5.00")
    expect(page.locator("#sale-result")).to_contain_text("+5 points. Balance: 25.")

    till.scan("D4E5F6A7", wait=False)  # a blank card: the page offers the hand-out
    expect(page.locator("#customer-message")).to_contain_text("This card is new")
    expect(page.locator("#hand-out-email")).to_be_focused()
    page.keyboard.type("new.customer@example.org")
    page.keyboard.press("Enter")
    expect(page.locator("#tools-message")).to_contain_text(
        "Card handed out to new.customer@example.org. The welcome slip is printing."
    )
    expect(page.locator("#customer-tail")).to_have_text("•••• F6A7")
    wait_for(lambda: [job for job in till.printer.printed() if b"Welcome to" in job], 5, "the slip")

    page.locator("summary", has_text="Pay with a giftcard").click()
    page.locator("#giftcard-card").fill("GC7F3A9B21")
    page.locator("#giftcard-amount").fill("7,50")
    page.locator("#giftcard-amount").press("Enter")
    expect(page.locator("#tools-message")).to_contain_text(
        "Paid €7.50 with giftcard •••• 9B21. Left on it: €17.50."
    )
    screenshot(page, tmp_path, "desks")
    assert "GC7F3A9B21" not in page.locator("body").inner_text()
    sales = [row for row in till.journal_rows("sales") if row["sale_id"].startswith("counter-S-")]
    assert [row["amount_cents"] for row in sales] == [500]  # (the welcome slip has a row too)
    credits = ledger(sandbox_clean, "credit_reception")
    assert [(row["member"]["id"], row["credits"]) for row in credits] == [(7732, 5)]


def test_a_checked_voucher_goes_with_the_next_sale_and_is_redeemed(
    page: Page, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    till = voucher_agent(tmp_path, sandbox_clean, hold_s=600)
    try:
        log_in(page, till.start())
        page.locator("#voucher-code").fill("VCH-USED-21")
        page.locator("#voucher-code").press("Enter")
        expect(page.locator("#voucher-result")).to_contain_text("cannot be used")
        page.locator("#voucher-code").fill("VCH-COFFEE-06")
        page.locator("#voucher-code").press("Enter")
        expect(page.locator("#voucher-result")).to_contain_text("Free coffee: can be used")

        sell(page, "4.50")

        expect(page.locator("#sale-result")).to_contain_text("Voucher Free coffee taken")
        assert "VCH-COFFEE-06" not in page.locator("body").inner_text()
        screenshot(page, tmp_path, "voucher")
        (sale,) = till.journal_rows("sales")
        (operation,) = [op for op in till.journal_rows("operations") if op["kind"] == "voucher"]
        assert operation["sale_id"] == sale["sale_id"]  # locked for the sale the page posted
        wait_for(
            lambda: vouchers_by_code(sandbox_clean)["VCH-COFFEE-06"]["status"] == "REDEEMED",
            10,
            "the voucher to be redeemed",
        )
        kinds = [
            row["kind"] for row in sandbox_clean.ledger() if row.get("code") == "VCH-COFFEE-06"
        ]
        assert kinds == ["voucher_locked", "voucher_redeemed"]
    finally:
        till.close()
