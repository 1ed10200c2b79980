"""End to end, the orders backend (``[api] version = "orders"``): the real agent process
with its personal access token from ``$CREDENTIALS_DIRECTORY``, against the sandbox. A
sale with lines becomes one order with those lines (read in the sandbox's ledger and its
order), the receipt prints the order's points and balance, and refunds become order
returns taking back the returned money's share, once each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import PERSONAL_ACCESS_TOKEN, AgentProcess

JAN_CARD = "A1B2C3D4"
JAN_BALANCE = 150  # the seed's
CLIENT_API = "/api/v3/oauth/clients"


@pytest.fixture
def agent(sandbox_clean: Sandbox, tmp_path: Path) -> Iterator[AgentProcess]:
    # a long wait: the order's answer comes within it, so the receipt says "credited"
    till = AgentProcess(tmp_path, sandbox_clean, "orders", receipt_wait_s=5.0)
    try:
        yield till.start()
    finally:
        till.close()


def points_rows(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == "points_transaction"]


def find_order(sandbox: Sandbox, key: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{sandbox.url}{CLIENT_API}/orders/find",
        params={"external_identifier": key},
        headers={"Authorization": f"Bearer {PERSONAL_ACCESS_TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    order: dict[str, Any] = answer.json()["data"]
    return order


def test_a_sale_with_lines_is_one_order_and_its_receipt_shows_the_points(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    lines = [
        {"text": "Sale O-1"},  # text only: the receipt's, no line item
        {"text": "Bread", "amount": "25.00", "product": "BREAD", "quantity": 2},
        {"text": "Gift wrap", "amount": "9.00", "product": "GIFT-WRAP"},
        {"text": "Loyal customer", "amount": "-1.00"},
    ]
    answer = agent.sell("O-1", "33.00", customer_card=JAN_CARD, lines=lines)
    assert answer.status_code == 200, answer.text
    loyalty = answer.json()["loyalty"]
    # 25.00 less the 1.00 off the order earn 24 points; the seed excludes the gift wrap
    assert (loyalty["state"], loyalty["credits"], loyalty["balance"]) == (
        "credited",
        24,
        JAN_BALANCE + 24,
    ), loyalty
    (row,) = points_rows(sandbox_clean)
    assert (row["credits"], row["external_identifier"]) == (24, "T001#O-1")
    order = find_order(sandbox_clean, "T001#O-1")
    items = [
        (
            i["name"],
            i["quantity"],
            i["price"],
            i["total_amount"],
            (i["product"] or {}).get("external_identifier"),
        )
        for i in order["line_items"]
    ]
    assert items == [("Bread", 2, 1250, 2500, "BREAD"), ("Gift wrap", 1, 900, 900, "GIFT-WRAP")]
    assert [(d["amount"], d["applied_to"]) for d in order["applied_discounts"]] == [(100, "ORDER")]
    assert order["total_order_amount"] == 3300
    receipt = agent.wait_printed("O-1")
    assert re.search(rb"Points earned:? +24\b", receipt), receipt
    assert re.search(rb"Your balance:? +" + str(JAN_BALANCE + 24).encode() + rb"\b", receipt)
    (operation,) = [
        op for op in agent.journal_rows("operations") if op["kind"] == "credit_reception"
    ]
    assert (operation["state"], operation["server_ref"]) == ("done", "T001#O-1")


def test_refunds_are_order_returns_of_the_money_refunded_once_each(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    lines = [{"text": "Coffee", "amount": "20.00", "product": "COFFEE", "quantity": 4}]
    assert agent.sell("O-2", "20.00", customer_card=JAN_CARD, lines=lines).status_code == 200
    agent.drain()
    part = agent.refund("O-2", amount="5.00", refund_id="R-1")
    assert part.status_code == 200, part.text
    assert agent.refund("O-2", amount="5.00", refund_id="R-1").json() == part.json()
    agent.drain()
    whole = agent.sell("O-3", "8.00", customer_card=JAN_CARD)
    assert whole.status_code == 200
    agent.drain()
    assert agent.refund("O-3").status_code == 200
    agent.drain()
    # O-2: 20 points, a quarter of the money back takes back 5; O-3: 8 points, all back
    assert [row["credits"] for row in points_rows(sandbox_clean)] == [20, -5, 8, -8]
    returns = [row for row in points_rows(sandbox_clean) if row.get("order_return")]
    assert len(returns) == 2
    refunds = [op for op in agent.journal_rows("operations") if op["kind"] == "refund"]
    assert sorted(op["state"] for op in refunds) == ["done", "done"]
