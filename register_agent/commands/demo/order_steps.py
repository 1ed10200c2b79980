"""The orders backend's part of ``register-agent demo`` (``--api-version orders``): the sale
of step 2 as the order Leat's client API got, a sale that takes a voucher, a reward the
customer pre-redeemed and collects at payment, and part of step 2's sale returned as an
order return. Called by ``demo/tour.py`` after step 2, in the order of the morning.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from register_agent.commands.demo.guide import Guide
from register_agent.commands.demo.ledger import Expected
from register_agent.common.masking import safe_tail

WAIT_S = 15.0  # for the outbox to send a redeem, a collection or a return (the tour must end)
RETURNED = Decimal("8.00")  # of demo-1's 12.50
JAN_CARD = "A1B2C3D4"  # the seed's Jan, as in demo/tour.py
#: one of Jan's vouchers in the seed (a free coffee, redeemed with its code alone)
VOUCHER = "VCH-COFFEE-01"
#: the seed's pre-redeemable reward: claimed ahead, collected with a sale
CAKE = "Birthday cake"
#: the voucher's sale: the coffee it gives (its first line) is taken off, 6.40 is paid
VOUCHER_SALE = ("demo-1v", Decimal("6.40"), (("Cappuccino", "3.20"), ("Raisin bread", "6.40")))
COLLECT_SALE = ("demo-1c", Decimal("3.75"), (("Coffee", "3.75"),))


class OrderSteps:
    """Steps 2b to 2e; ``run`` takes Jan's balance and gives it back after the return.
    ``claims``: the reward claims these steps made, for the tour's ledger check."""

    def __init__(self, tour: Guide) -> None:
        self._tour = tour
        self.claims = 0

    def run(self, balance: int, jan: dict[str, Any]) -> int:
        earned = self._the_order()
        balance = self._a_voucher(balance)
        balance = self._a_collected_reward(balance, jan)
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

    def _a_voucher(self, balance: int) -> int:
        t = self._tour
        t._begin("2c. Jan pays with a voucher")
        sale_id, amount, lines = VOUCHER_SALE
        tail = safe_tail(VOUCHER)
        checked = t._pos("POST", "/v1/vouchers/check", {"code": VOUCHER}).body
        t._check(checked["usable"] is True, f"voucher ****{tail} usable, got {checked}")
        lock = t._pos("POST", "/v1/vouchers/locks", {"code": VOUCHER, "sale_id": sale_id}).body
        t._check(lock["state"] == "locked", f"the voucher locked for {sale_id}, got {lock}")
        t._say(
            f"   The cashier scans Jan's voucher ****{tail}: {checked['name']} "
            f"({checked['attributes'].get('plu')}), usable; the till locks it for {sale_id}."
        )
        # Leat gives a voucher no amount: the POS applies its PLU, here the cappuccino for
        # free, a negative line the order gets as a discount (no points for the coffee)
        priced = [*lines, (f"Voucher: {checked['name']}", f"-{lines[0][1]}")]
        loyalty = t._sell(sale_id, amount, lines=priced, card=JAN_CARD)["loyalty"]
        earned = int(amount)  # one point per euro, rounded down (the seed's shop)
        t._check(loyalty["state"] == "credited", f"points on the receipt, got {loyalty}")
        t._check(loyalty["credits"] == earned, f"{earned} points, got {loyalty['credits']}")
        t._check(loyalty["balance"] == balance + earned, f"balance {balance + earned}: {loyalty}")
        t._sales.append(Expected(sale_id, JAN_CARD, amount))
        state = self._until(
            lambda: t._pos("GET", f"/v1/vouchers/locks/{lock['lock_id']}").body,
            lambda s: s["state"] in ("redeemed", "failed"),
        )
        t._check(state and state["state"] == "redeemed", f"the voucher redeemed, got {state}")
        redeemed = self._voucher_rows("voucher_redeemed")
        t._check(len(redeemed) == 1, f"the voucher redeemed once in the ledger, got {redeemed}")
        released = self._voucher_rows("voucher_released")
        t._check(not released, f"the redeemed voucher never released, got {released}")
        receipt = t._preview(sale_id, "1b-sale-with-voucher.png")
        t._check(
            any(f"****{tail} redeemed" in note for note in receipt.notes),
            f"the voucher on the receipt: {receipt}",
        )
        t._say(
            f"   Sale {sale_id}, EUR {amount} after the free coffee: "
            f"{'; '.join(loyalty['lines'])}; the receipt says "
            f"'Voucher ****{tail} redeemed: {checked['name']}'. Leat's ledger: redeemed once."
        )
        return int(loyalty["balance"])

    def _a_collected_reward(self, balance: int, jan: dict[str, Any]) -> int:
        t = self._tour
        t._begin("2d. A reward pre-redeemed in the app, collected at payment")
        reward = next((r for r in jan.get("rewards") or [] if r["title"] == CAKE), None)
        t._check(reward and reward["pre_redeemable"], f"{CAKE!r} offered to Jan, pre-redeemable")
        assert reward is not None
        cost = int(reward["required_credits"])
        claim = {"claim_id": "demo-claim-cake", "reward_key": reward["key"]}
        claimed = t._pos("POST", "/v1/rewards/claims", {**claim, "customer_card": JAN_CARD}).body
        self.claims += 1
        collectable = claimed.get("collectable_id")
        t._check(collectable, f"a collectable reward from the claim, got {claimed}")
        t._check(claimed["balance"] == balance - cost, f"balance {balance - cost}: {claimed}")
        t._say(
            f"   Jan pre-redeems the {CAKE.lower()} ({cost} points, taken now): he has "
            f"{claimed['balance']}, and the cake waits for him at the shop."
        )
        waiting = self._waiting()
        t._check(collectable in waiting, f"the cake among Jan's waiting rewards: {waiting}")
        sale_id, amount, lines = COLLECT_SALE
        body = {
            "sale_id": sale_id,
            "amount": str(amount),
            # the cake at 0.00: on the receipt, but no line item of the order (nothing paid)
            "lines": [{"text": f"{CAKE} (reward)", "amount": "0.00"}]
            + [{"text": text, "amount": price} for text, price in lines],
            "customer_card": JAN_CARD,
            "collect": [collectable],
        }
        loyalty = t._pos("POST", "/v1/sales", body).body["loyalty"]
        earned = int(amount)
        after = claimed["balance"] + earned
        t._check(loyalty["state"] == "credited", f"points on the receipt, got {loyalty}")
        t._check(loyalty["balance"] == after, f"balance {after}, got {loyalty}")
        t._sales.append(Expected(sale_id, JAN_CARD, amount))
        receipt = t._preview(sale_id, "1c-sale-collecting-reward.png")
        handed = [line.text for line in receipt.lines if CAKE in line.text]
        t._check(handed, f"the cake's line on the receipt: {receipt}")
        row = self._until(lambda: self._collected(collectable), bool)
        t._check(row, f"the cake collected within {WAIT_S:.0f} s")
        t._check(collectable not in self._waiting(), "the cake no longer waiting")
        rows = self._sandbox_rows("collectable_reward_collected")
        spent = [r for r in self._sandbox_rows("reward_reception") if r["uuid"] == collectable]
        t._check(len(rows) == 1, f"collected once, got {rows}")
        t._check([r["credits"] for r in spent] == [-cost], f"{cost} points taken once, got {spent}")
        t._say(
            f"   Then Jan pays EUR {amount} for a coffee and takes the cake: the sale names "
            f"it in 'collect'. {'; '.join(loyalty['lines'])}; the receipt lists "
            f"'{handed[0]}'. The outbox collects it: no longer waiting for Jan, and Leat's "
            f"ledger has it collected once, its {cost} points taken once (at the claim)."
        )
        return int(loyalty["balance"])

    def _a_return(self, balance: int, earned: int) -> int:
        t = self._tour
        t._begin("2e. Part of the sale comes back: an order return")
        body = {"refund_id": "demo-return-1", "amount": str(RETURNED)}
        t._pos("POST", "/v1/sales/demo-1/refund", body)
        row = self._until(lambda: self._row(_a_return), bool)
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

    # --- what the till and the sandbox say ----------------------------------------------

    def _until(self, read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
        """``read()`` once ``done`` says so, or its last value after ``WAIT_S``."""
        deadline = time.monotonic() + WAIT_S
        value = read()
        while not done(value) and time.monotonic() < deadline:
            time.sleep(0.2)
            value = read()
        return value

    def _waiting(self) -> list[str]:
        path = f"/v1/customer/collectable-rewards?customer_card={JAN_CARD}"
        return [r["uuid"] for r in self._tour._pos("GET", path).body]

    def _sandbox_rows(self, kind: str) -> list[dict[str, Any]]:
        ledger = self._tour._sandbox("GET", "/_sandbox/ledger").body["data"]
        return [r for r in ledger if r.get("kind") == kind]

    def _voucher_rows(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self._sandbox_rows(kind) if r.get("code") == VOUCHER]

    def _collected(self, collectable: str) -> dict[str, Any] | None:
        rows = self._sandbox_rows("collectable_reward_collected")
        return next((r for r in rows if r.get("uuid") == collectable), None)

    def _row(self, wanted: Any) -> dict[str, Any] | None:
        rows = [r for r in self._sandbox_rows("points_transaction") if wanted(r)]
        return rows[-1] if rows else None


def _a_return(row: dict[str, Any]) -> bool:
    return bool(row.get("order_return"))
