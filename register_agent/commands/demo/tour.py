"""The steps of ``register-agent demo``: the cashier, the POS software and the customers of
one morning at the till, told in plain words and each checked against what the agent
answered and what the sandbox applied. The first outcome that differs ends the tour.

The tour plays the POS over the local API and the customer's phone over the sandbox's
``/_sandbox/claim`` through its guide (``demo/guide.py``); steps 7 to 12, at the counter,
are in ``demo/counter_steps.py``, and the orders backend's 2b to 2e in ``demo/order_steps.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from register_agent.commands.demo.counter_steps import CounterSteps
from register_agent.commands.demo.guide import DemoFailed, DemoTill, Guide
from register_agent.commands.demo.ledger import Expected, Summary, summarise
from register_agent.commands.demo.order_steps import OrderSteps
from register_agent.commands.demo.till_print import TillPrint

#: customers of the default sandbox seed (register_agent/sandbox/default_seed.toml)
JAN_CARD = "A1B2C3D4"
MARIE_CARD = "B2C3D4E5"
SOFIE_CARD = "04A2241A6B5E80"  # an NFC card's UID
AHMED = "ahmed@example.org"
REWARD = "Free coffee"
#: a digital reward on v3 (its reception hands out a code), v1's "external" one
DIGITAL_REWARD = "Croissant"
#: one credit per euro, rounded down (the seed's shop)
CREDITS_PER_EURO = 1

DRAIN_S = 25.0  # for the outbox to deliver what waited while offline


class Tour(Guide):
    """Run it with ``run()``; it prints as it goes and raises ``DemoFailed`` on a mismatch."""

    def __init__(
        self, till: DemoTill, out: Path, version: str, say: Callable[[str], None] = print
    ) -> None:
        super().__init__(till, out, say)
        self._version = version
        self._counter = CounterSteps(self)
        self._orders = OrderSteps(self)

    def run(self) -> Summary:
        try:
            return self._tour()
        except (KeyError, TypeError, ValueError) as exc:  # an answer not shaped as documented
            raise DemoFailed(f"{self._step!r}: an unexpected answer ({exc!r})") from exc

    def _tour(self) -> Summary:
        api = "v3, sales as client-API orders" if self._version == "orders" else self._version
        self._say(
            f"register-agent demo: one till on the built-in sandbox (Register API "
            f"{api}); nothing here leaves this machine.\n"
        )
        jan = self._scan_card()
        balance = self._sell_to(jan)
        if self._version == "orders":  # the order, a voucher, a collected reward, a return
            balance = self._orders.run(balance, jan)
        self._sell_without_card()
        self._claim_reward(jan, balance)
        self._go_offline()
        self._come_back()
        self._counter.run()  # the counter work: steps 7 to 12
        TillPrint(self).run()  # 13: an old till prints through the agent
        return self._summary()

    # --- the steps ------------------------------------------------------------------------

    def _scan_card(self) -> dict[str, Any]:
        self._begin("1. A customer scans a loyalty card")
        self._say(f"   Jan scans his card {JAN_CARD} on the counter's reader.")
        self._till.scan(JAN_CARD)
        jan = self._customer()
        self._check(isinstance(jan.get("balance"), int), f"a balance for Jan, got {jan}")
        rewards = jan.get("rewards") or []
        self._say(
            f"   The POS screen shows {jan['display']}: {jan['balance']} points, "
            f"{sum(1 for r in rewards if r['claimable'])} rewards within reach."
        )
        return jan

    def _sell_to(self, jan: dict[str, Any]) -> int:
        self._begin("2. The POS says the sale is paid")
        amount = Decimal("12.50")
        answer = self._sell(
            "demo-1", amount, lines=[("Sourdough loaf", "4.50"), ("Apple pie", "8.00")]
        )
        loyalty = answer["loyalty"]
        earned = int(amount) * CREDITS_PER_EURO
        self._check(loyalty["state"] == "credited", f"credits on the receipt, got {loyalty}")
        self._check(loyalty["credits"] == earned, f"{earned} credits, got {loyalty['credits']}")
        self._check(
            loyalty["balance"] == jan["balance"] + earned,
            f"balance {jan['balance'] + earned}, got {loyalty['balance']}",
        )
        self._sales.append(Expected("demo-1", JAN_CARD, amount))
        self._say(f"   Sale demo-1, EUR {amount}: {'; '.join(loyalty['lines'])}.")
        self._preview("demo-1", "1-sale-with-card.png")
        after = self._call(self._till.pos, "GET", "/v1/customer", None)
        self._check(after.status == 204, f"the card used up by the sale, got {after.status}")
        self._say("   The scan was for that sale only: the next shopper starts without a customer.")
        return int(loyalty["balance"])

    def _sell_without_card(self) -> None:
        self._begin("3. A sale without a card: the receipt carries a QR code")
        answer = self._sell("demo-2", Decimal("7.25"), lines=[("Croissants", "7.25")])
        loyalty = answer["loyalty"]
        self._check(loyalty["state"] == "qr" and loyalty["qr_url"], f"a QR, got {loyalty}")
        v3 = self._version != "v1"  # the orders backend mints v3's tokens too
        how = "a loyalty token minted on the till" if v3 else "a staged credit reception"
        self._say(f"   Sale demo-2, EUR 7.25, no card: the QR is {how}.")
        self._preview("demo-2", "2-sale-without-card.png")
        url = loyalty["qr_url"]
        claimed = self._sandbox("POST", "/_sandbox/claim", {"url": url, "member": AHMED})
        self._check(claimed.ok, f"the QR claimed by Ahmed, got {claimed.status} {claimed.body}")
        credits = claimed.body["data"]["credits"]
        self._check(credits == 7 * CREDITS_PER_EURO, f"7 credits from the QR, got {credits}")
        self._say(f"   At home, Ahmed scans the QR with his phone: {credits} points collected.")
        self._say(f"   (the QR's URL: {url})")
        again = self._sandbox("POST", "/_sandbox/claim", {"url": url, "member": AHMED})
        self._check(not again.ok, f"a second claim of the same QR refused, got {again.status}")
        self._say("   He scans it again: refused, the points were already collected.")

    def _claim_reward(self, jan: dict[str, Any], balance: int) -> None:
        self._begin("4. Jan claims a reward")
        reward = next((r for r in jan.get("rewards") or [] if r["title"] == REWARD), None)
        self._check(reward is not None, f"the reward {REWARD!r} offered to Jan")
        assert reward is not None
        claim = {"claim_id": "demo-claim-1", "reward_key": reward["key"], "customer_card": JAN_CARD}
        first = self._pos("POST", "/v1/rewards/claims", claim)
        cost = int(reward["required_credits"])
        self._check(
            first.body.get("balance") == balance - cost,
            f"balance {balance - cost}, got {first.body}",
        )
        self._say(
            f"   {first.body['title']} for {cost} points: Jan now has {first.body['balance']}."
        )
        plu = first.body.get("external_property")
        self._check(plu == "PLU-1001", f"the reward's PLU in the answer, got {first.body}")
        self._say(
            f"   The POS rings up PLU {plu} at no charge: the reward's own PLU attribute "
            "(external_property), read from the reward in the claim's answer."
        )
        second = self._pos("POST", "/v1/rewards/claims", claim)
        self._check(
            second.body == first.body, f"the same answer for the same claim, got {second.body}"
        )
        self._say("   The POS sends the claim again (a retry): same answer, claimed once.")
        self._claim_digital(jan)

    def _claim_digital(self, jan: dict[str, Any]) -> None:
        """A digital reward: on v3 its reception carries a code (``digital_reward_code``),
        printed on a claim slip of its own; v1's "external" reward answers its PLU only."""
        reward = next((r for r in jan.get("rewards") or [] if r["title"] == DIGITAL_REWARD), None)
        self._check(reward is not None, f"the reward {DIGITAL_REWARD!r} offered to Jan")
        assert reward is not None
        claim = {"claim_id": "demo-claim-2", "reward_key": reward["key"], "customer_card": JAN_CARD}
        answer = self._pos("POST", "/v1/rewards/claims", claim).body
        plu = answer.get("external_property")
        self._check(plu == "PLU-3003", f"the reward's PLU in the answer, got {answer}")
        if self._version == "v1":
            self._say(f"   Jan also takes a {DIGITAL_REWARD.lower()}: the POS rings up {plu}.")
            return
        code, slip_id = answer.get("code"), answer.get("slip_id")
        self._check(bool(code) and bool(slip_id), f"a digital reward's code, got {answer}")
        slip = self._preview(str(slip_id), "2b-claim-slip.png")
        self._check(any(str(code) in note for note in slip.notes), f"the code on the slip: {slip}")
        self._say(
            f"   Jan also takes a {DIGITAL_REWARD.lower()} (a digital reward): PLU {plu}, and "
            f"the code {code} (digital_reward_code) printed on a claim slip for him."
        )

    def _go_offline(self) -> None:
        self._begin("5. The Register API goes down")
        fault = {"mode": "error_503", "paths": ["/api/"]}
        self._check(self._sandbox("POST", "/_sandbox/faults", fault).ok, "the outage switched on")
        self._say("   The sandbox now answers every Register API call with 503 (maintenance).")
        self._till.scan(SOFIE_CARD)
        self._customer()
        self._say(
            "   Sofie taps her NFC card, never seen at this till: it cannot be looked up now, "
            "so the till keeps it for her sale."
        )
        sales = (("demo-3", None, "Sofie", "20.00"), ("demo-4", MARIE_CARD, "Marie", "9.99"))
        for sale_id, card, who, amount in sales:
            answer = self._sell(sale_id, Decimal(amount), card=card)
            loyalty = answer["loyalty"]
            self._check(
                loyalty["state"] == "pending", f"{sale_id} paid, points to follow: {loyalty}"
            )
            typed = " (card number typed in by the POS)" if card else ""
            promise = loyalty["lines"][0].rstrip(".")
            self._say(f"   Sale {sale_id}, EUR {amount} for {who}{typed}: paid; {promise}.")
            self._sales.append(Expected(sale_id, card or SOFIE_CARD, Decimal(amount)))
        receipt = self._preview("demo-3", "3-sale-offline.png")
        self._check(receipt.points_pending, f"'points will be added' on the receipt: {receipt}")
        status = self._pos("GET", "/v1/status").body
        self._check(status["outbox_pending"] >= 2, f"2 operations waiting, got {status}")
        self._say_status(status)

    def _come_back(self) -> None:
        self._begin("6. The Register API comes back")
        self._check(self._sandbox("POST", "/_sandbox/faults", {"mode": "off"}).ok, "outage off")
        started = time.monotonic()
        status = self._pos("GET", "/v1/status").body
        # the API counts as reachable again once the outbox reports a delivery done
        while _waiting(status) and time.monotonic() - started < DRAIN_S:
            time.sleep(0.2)
            status = self._pos("GET", "/v1/status").body
        self._check(status["outbox_pending"] == 0, f"the outbox drained, got {status}")
        self._check(
            not status["outbox_review"] and not status["outbox_dead"], f"none stuck: {status}"
        )
        self._say(f"   The outbox delivered what waited, in {time.monotonic() - started:.1f} s.")
        self._check(status["register_api"] == "reachable", f"the API reachable again: {status}")
        self._say_status(status)
        self._pos("POST", "/v1/sales/demo-3/reprint")
        receipt = self._preview("demo-3", "4-sale-offline-reprint.png", copy=True)
        earned = 20 * CREDITS_PER_EURO
        self._check(receipt.credits_earned == earned, f"{earned} points on the reprint: {receipt}")
        self._say("   A reprint of demo-3 (marked COPY) now shows the points earned.")

    def _summary(self) -> Summary:
        self._begin("14. What the Register API applied (the sandbox's ledger)")
        ledger = self._sandbox("GET", "/_sandbox/ledger").body["data"]
        summary = summarise(ledger, self._sales)
        for line in summary.lines():
            self._say(f"   {line}")
        self._check(summary.duplicates == 0, f"no sale credited twice, got {summary.duplicates}")
        self._check(not summary.missing, f"every sale credited, missing {summary.missing}")
        claims = 2 + self._orders.claims  # the orders tour's pre-redeemed reward too
        self._check(
            summary.qr_claims == 1 and summary.reward_claims == claims,
            f"one QR and {claims} reward claims, got {summary.qr_claims} and "
            f"{summary.reward_claims}",
        )
        self._counter.check(summary)
        self._say(f"\nReceipt previews in {self._out}:")
        for path in self._previews:
            self._say(f"   {path.name}")
        self._say("\nEvery step went as expected.")
        return summary


def _waiting(status: dict[str, Any]) -> bool:
    return bool(status["outbox_pending"]) or status["register_api"] != "reachable"
