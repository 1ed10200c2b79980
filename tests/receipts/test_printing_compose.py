"""compose_receipt alone: what the slip says for each state of a sale's operations."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

import pytest

from register_agent.config import AgentConfig, ReceiptConfig, TillConfig, VirtualPrinterConfig
from register_agent.counter.messages import LoyaltyBlock
from register_agent.journal import OperationState, PrintJob, PrintJobState
from register_agent.receipts.layout import SaleLine, layout_receipt
from register_agent.receipts.printer_worker import agent_prints
from register_agent.receipts.sale_receipt import compose_receipt
from register_agent.receipts.welcome import welcome_record
from tests.support.printing_support import (
    NOW,
    PENDING,
    STAGED_URL,
    TOKEN_URL,
    V3_QR,
    credit_operation,
    operation,
    sale_record,
    staged_operation,
)

RECEIPT = TillConfig()
SHOP = ReceiptConfig(header=("Bakkerij Jansen",))
SLIP = TillConfig(prints="loyalty_slip")
FIRST = PrintJob(1, "4711", 0, PrintJobState.PENDING, 0, None, NOW, None)
REPRINT = replace(FIRST, id=2, copy=1)


CREDITED = {"reception_id": "r1", "credits": 12, "balance": 162, "customer": {"key": "7731"}}


def test_a_done_credit_reception_gives_credits_balance_lines_and_total() -> None:
    done = operation(credit_operation("4711"), OperationState.DONE, CREDITED)
    receipt = compose_receipt(sale_record("4711", PENDING), [done], FIRST, RECEIPT)
    assert (receipt.credits_earned, receipt.new_balance, receipt.points_pending) == (12, 162, False)
    assert receipt.lines == (
        SaleLine("Café crème", Decimal("3.50")),
        SaleLine("Appeltaart", Decimal("9.00")),
    )
    assert receipt.total == Decimal("12.50")
    assert (receipt.qr_url, receipt.qr_unavailable, receipt.copy) == (None, False, False)


@pytest.mark.parametrize(
    "state",
    [
        OperationState.PENDING,
        OperationState.IN_FLIGHT,
        OperationState.UNKNOWN,
        OperationState.REVIEW,
    ],
)
def test_credits_not_confirmed_say_points_will_be_added(state: OperationState) -> None:
    waiting = operation(credit_operation("4711"), state)
    receipt = compose_receipt(sale_record("4711", PENDING), [waiting], FIRST, RECEIPT)
    assert receipt.points_pending
    assert receipt.credits_earned is None


def test_a_dead_credit_reception_promises_nothing() -> None:
    dead = operation(credit_operation("4711"), OperationState.DEAD)
    receipt = compose_receipt(sale_record("4711", PENDING), [dead], FIRST, RECEIPT)
    assert not receipt.points_pending
    assert receipt.credits_earned is None


def test_a_v3_sale_without_customer_carries_the_token_url() -> None:
    receipt = compose_receipt(sale_record("4711", V3_QR), [], FIRST, RECEIPT)
    assert receipt.qr_url == TOKEN_URL
    assert not receipt.points_pending


def test_a_v1_staged_reception_gives_its_url_once_done_and_says_so_plainly_before() -> None:
    staged = staged_operation("4711")
    done = operation(staged, OperationState.DONE, {"url": STAGED_URL, "reference": "s1"})
    sale = sale_record("4711", LoyaltyBlock(state="qr", lines=()))
    assert compose_receipt(sale, [done], FIRST, RECEIPT).qr_url == STAGED_URL
    missing = compose_receipt(sale, [operation(staged, OperationState.PENDING)], FIRST, RECEIPT)
    assert (missing.qr_url, missing.qr_unavailable) == (None, True)
    layout = layout_receipt(missing, ReceiptConfig(language="nl"), 42).plain_text()
    assert "Geen QR-code" in layout


def test_credits_the_till_already_had_come_from_the_answer() -> None:
    answer = LoyaltyBlock(state="credited", lines=(), credits=5, balance=55)
    receipt = compose_receipt(sale_record("4711", answer), [], FIRST, RECEIPT)
    assert (receipt.credits_earned, receipt.new_balance) == (5, 55)


def test_a_loyalty_slip_leaves_out_the_pos_lines_and_total() -> None:
    done = operation(credit_operation("4711"), OperationState.DONE, CREDITED)
    receipt = compose_receipt(sale_record("4711", PENDING), [done], REPRINT, SLIP)
    assert (receipt.lines, receipt.total) == ((), None)
    assert (receipt.credits_earned, receipt.copy, receipt.sale_id) == (12, True, "4711")


def test_every_reprint_is_a_copy_with_the_same_qr() -> None:
    sale = sale_record("4711", V3_QR)
    first = compose_receipt(sale, [], FIRST, RECEIPT)
    again = compose_receipt(sale, [], REPRINT, RECEIPT)
    assert (first.copy, again.copy) == (False, True)
    assert first.qr_url == again.qr_url == TOKEN_URL


def test_only_the_pos_or_a_missing_printer_keeps_the_worker_off() -> None:
    printer = VirtualPrinterConfig(kind="virtual")
    assert agent_prints(AgentConfig(printer=printer))
    assert agent_prints(AgentConfig(printer=printer, till=SLIP))
    assert not agent_prints(AgentConfig(printer=printer, till=TillConfig(prints="pos")))
    assert not agent_prints(AgentConfig(printer=None))


def test_every_slip_carries_the_sales_time_and_a_copy_its_own_in_the_tills_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kathmandu")  # 5:45 from UTC: no other zone passes
    time.tzset()
    try:
        sale = sale_record("4711", V3_QR, created_at=NOW)  # 2027-01-15 08:00 UTC
        welcome = welcome_record("welcome-1", ("Your card: ****C3D4",), 0, "EUR", NOW)
        copy = replace(REPRINT, created_at=NOW + 3600)
        slips = {
            "sale": layout_receipt(compose_receipt(sale, [], FIRST, RECEIPT), SHOP, 42),
            "copy": layout_receipt(compose_receipt(sale, [], copy, RECEIPT), SHOP, 42),
            "welcome": layout_receipt(compose_receipt(welcome, [], FIRST, RECEIPT), SHOP, 42),
        }
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    texts = {kind: layout.plain_text().splitlines() for kind, layout in slips.items()}
    assert f"Sale 4711{' ' * 17}2027-01-15 13:45" in texts["sale"]
    assert f"Sale 4711{' ' * 17}2027-01-15 13:45" in texts["copy"]
    assert f"Copy{' ' * 22}2027-01-15 14:45" in texts["copy"]
    assert f"{' ' * 26}2027-01-15 13:45" in texts["welcome"]
