"""The orders backend's part of ``register-agent demo`` (``--api-version orders``): the sale
of step 2 as the order Leat's client API got, and part of it returned as an order return.
Called by ``demo/tour.py`` after step 2; another client-API step (a voucher, a collectable
reward) is one more method here, called from ``run`` in the order of the morning.
"""

from __future__ import annotations

import time
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from register_agent.commands.demo.guide import Guide

WAIT_S = 15.0  # for the outbox to send the return (bounded: the tour must end)
RETURNED = Decimal("8.00")  # of demo-1's 12.50


class OrderSteps:
    """Steps 2b and 2c; ``run`` takes Jan's balance and gives it back after the return."""

    def __init__(self, tour: Guide) -> None:
        self._tour = tour

    def run(self, balance: int) -> int:
        earned = self._the_order()
        return self._a_return(balance, earned)

    def _the_order(self) -> int:
        t = self._tour
        t._begin("2b. Leat got the sale as an order")
        row = self._row(lambda r: str(r.get("external_identifier", "")).endswith("#demo-1"))
        t._check(row is not None, "an order for demo-1 in the sandbox's ledger")
        assert row is not None
        t._say(
            f"   Sale demo-1 went to Leat's client API as order {row['external_identifier']}: "
            "its two lines as line items, amounts in cents, under the account's personal "
            f"access token; the account's order action made {row['credits']} points of it."
        )
        t._say(
            "   Its key (the till's register and the sale id) is unique in the account: a "
            "resent order is refused, and a lost answer is settled by finding the order."
        )
        return int(row["credits"])

    def _a_return(self, balance: int, earned: int) -> int:
        t = self._tour
        t._begin("2c. Part of the sale comes back: an order return")
        body = {"refund_id": "demo-return-1", "amount": str(RETURNED)}
        t._pos("POST", "/v1/sales/demo-1/refund", body)
        deadline = time.monotonic() + WAIT_S
        row = self._row(_a_return)
        while row is None and time.monotonic() < deadline:
            time.sleep(0.2)
            row = self._row(_a_return)
        t._check(row is not None, f"an order return within {WAIT_S:.0f} s")
        assert row is not None
        # the returned money's share of the order's points, rounded down (the sandbox's
        # rule, which the account's order action decides on a real account)
        share = Decimal(earned) * RETURNED / Decimal("12.50")
        back = int(share.to_integral_value(rounding=ROUND_FLOOR))
        t._check(row["credits"] == -back, f"{back} points taken back, got {row['credits']}")
        t._check(row["balance_after"] == balance - back, f"balance {balance - back}: {row}")
        t._say(
            f"   The POS refunds EUR {RETURNED} of demo-1: the agent sends an order return of "
            f"that money's lines, and Leat takes back {back} points: Jan has "
            f"{row['balance_after']}."
        )
        return balance - back

    def _row(self, wanted: Any) -> dict[str, Any] | None:
        ledger = self._tour._sandbox("GET", "/_sandbox/ledger").body["data"]
        rows = [r for r in ledger if r.get("kind") == "points_transaction" and wanted(r)]
        return rows[-1] if rows else None


def _a_return(row: dict[str, Any]) -> bool:
    return bool(row.get("order_return"))
