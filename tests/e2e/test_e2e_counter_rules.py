"""The two rules of Piggy's own counter app, kept by the till for every sale, on a real
agent process: an amount above ``[till] confirm_above`` is refused (and nothing recorded)
until the sale says ``"confirmed": true``; a card that earned within ``[till] card_lock_s``
earns nothing on its next sale, which is still recorded and printed, and its answer says
why. The sandbox's ledger and the journal's rows are the proof."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.support.agent_process import JAN_CARD, wait_until
from tests.support.browser_till import BrowserTill, browser_till

MARIE_CARD = "B2C3D4E5"
PIET_CARD = "C3D4E5F6"


@pytest.fixture(scope="module")
def till(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserTill]:
    sandbox.reset()
    rules = 'confirm_above = "100.00"\ncard_lock_s = 600'
    with browser_till(tmp_path_factory.mktemp("rules"), sandbox, till=rules) as running:
        yield running


def receptions(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == "credit_reception"]


def journal_rows(till: BrowserTill, query: str, *args: object) -> list[tuple[Any, ...]]:
    path = till.directory / "state" / "journal.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute(query, args).fetchall()


def test_an_amount_above_confirm_above_waits_for_the_cashiers_confirmation(
    till: BrowserTill, sandbox: Sandbox
) -> None:
    before = len(receptions(sandbox))
    typo = {"sale_id": "RULES-1", "amount": "1250", "customer_card": MARIE_CARD}
    with till.bearer() as pos:
        refused = pos.post("/v1/sales", json=typo)
        assert refused.status_code == 422
        assert refused.json()["code"] == "amount_needs_confirmation"
        assert "1250" in refused.json()["message"]
        assert '"confirmed": true' in refused.json()["message"]
        assert journal_rows(till, "SELECT * FROM sales WHERE sale_id = 'RULES-1'") == []
        small = pos.post("/v1/sales", json={"sale_id": "RULES-0", "amount": "99.99"})
        assert small.status_code == 200  # at or under the threshold: no question
        confirmed = pos.post("/v1/sales", json={**typo, "confirmed": True})
        assert confirmed.status_code == 200, confirmed.text
        # a resend of the recorded sale, with or without the confirmation, is the same sale
        assert pos.post("/v1/sales", json=typo).json() == confirmed.json()
    wait_until(lambda: len(receptions(sandbox)) == before + 1, 10, "the confirmed sale's credits")
    assert receptions(sandbox)[-1]["amount"] == "1250.00"
    assert journal_rows(till, "SELECT amount_cents FROM sales WHERE sale_id = 'RULES-1'") == [
        (125000,)
    ]


def test_a_card_earns_once_within_card_lock_s_and_the_second_sale_is_still_recorded(
    till: BrowserTill, sandbox: Sandbox
) -> None:
    before = len(receptions(sandbox))
    with till.bearer() as pos:
        first = pos.post(
            "/v1/sales", json={"sale_id": "LOCK-1", "amount": "12.50", "customer_card": JAN_CARD}
        )
        assert first.status_code == 200
        assert first.json()["loyalty"]["state"] in ("credited", "pending")
        second = pos.post(
            "/v1/sales", json={"sale_id": "LOCK-2", "amount": "8.00", "customer_card": JAN_CARD}
        )
        assert second.status_code == 200  # the sale is the shop's: recorded all the same
        loyalty = second.json()["loyalty"]
        assert loyalty["state"] == "none"
        assert loyalty["notice"]["code"] == "card_locked"
        assert "without points" in loyalty["notice"]["message"]
        assert JAN_CARD not in second.text
        other = pos.post(
            "/v1/sales", json={"sale_id": "LOCK-3", "amount": "5.00", "customer_card": PIET_CARD}
        )
        assert other.json()["loyalty"]["state"] in ("credited", "pending")  # another card
    wait_until(lambda: len(receptions(sandbox)) == before + 2, 10, "two sales' credits")
    amounts = sorted(row["amount"] for row in receptions(sandbox)[before:])
    assert amounts == ["12.50", "5.00"]
    assert journal_rows(till, "SELECT state FROM sales WHERE sale_id = 'LOCK-2'") == [("paid",)]
    assert journal_rows(till, "SELECT id FROM operations WHERE sale_id = 'LOCK-2'") == []
    wait_until(
        lambda: any(b"LOCK-2" in receipt for receipt in till.printer.printed()),
        10,
        "the locked sale's receipt",
    )
