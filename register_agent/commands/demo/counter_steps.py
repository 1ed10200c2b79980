"""The counter work of ``register-agent demo``: a blank card handed out and credited, a
customer found by e-mail and signed up for the newsletter, Jan's attributes on the screen
and the receipt, a giftcard paying part of his sale and an overspend refused.

Played by the tour (``demo/tour.py``) through its guide (``demo/guide.py``), in the same
words: each step says what the cashier does and checks what the agent answered and the
sandbox applied.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from register_agent.commands.demo.ledger import Expected, Summary
from register_agent.common.money import to_cents

if TYPE_CHECKING:
    from register_agent.commands.demo.guide import Guide
    from register_agent.commands.local_client import Reply

#: the default seed's card handed out at the counter, never registered by a customer
BLANK_CARD = "D4E5F6A7"
NEW_CUSTOMER = "lotte@example.org"  # not in the seed: created by the hand-out
JAN_EMAIL = "jan@example.org"
AHMED_EMAIL = "ahmed@example.org"
#: the seed's giftcard of EUR 25.00 (its value as its QR code or barcode carries it)
GIFTCARD = "GC7F3A9B21"
GIFTCARD_CENTS = 2500
GIFTCARD_PAYS = Decimal("10.00")
WAIT_S = 5.0  # for the till to take the blank card's scan


class CounterSteps:
    """Steps 7 to 12 of the tour, and their part of its ledger check."""

    def __init__(self, tour: Guide) -> None:
        self._tour = tour

    def run(self) -> None:
        self._hand_out()
        self._first_sale()
        self._newsletter()
        jan = self._attributes()
        self._giftcard_pays(jan)
        self._overspend()

    def check(self, summary: Summary) -> None:
        """What the sandbox's ledger holds after these steps (in the summary step)."""
        t = self._tour
        created, linked = summary.counter["created"], summary.counter["linked"]
        t._check(
            created == 1 and linked == 1,
            f"one customer created and one card linked, got {created} and {linked}",
        )
        t._check(summary.counter["opt_in"] == 1, "one newsletter sign-up")
        left = GIFTCARD_CENTS - to_cents(GIFTCARD_PAYS)
        t._check(
            summary.counter["giftcard"] == 1 and summary.giftcard_left_cents == left,
            f"one giftcard transaction leaving {left} cents, got {summary.counter['giftcard']}"
            f" leaving {summary.giftcard_left_cents}",
        )

    # --- the steps ------------------------------------------------------------------------

    def _hand_out(self) -> None:
        t = self._tour
        t._begin("7. A blank card is handed out")
        t._say(f"   Lotte wants a card: the cashier scans a blank one, ****{BLANK_CARD[-4:]}.")
        t._till.scan(BLANK_CARD)
        handed = self._until_scanned({"email": NEW_CUSTOMER}).body
        customer = handed["customer"]
        got = (customer["display"], customer["balance"], customer["card_tail"])
        t._check(got == (NEW_CUSTOMER, 0, BLANK_CARD[-4:]), f"Lotte's new card, got {got}")
        t._check(handed["slip"] == "printing", f"a welcome slip printed, got {handed['slip']}")
        t._say(f"   The cashier types her e-mail, {NEW_CUSTOMER}: the card is hers, balance 0.")
        slip = t._preview(handed["slip_id"], "5-welcome-slip.png")
        # by the card's tail and the balance, not the words: the config picks the language
        t._check(
            any(f"****{BLANK_CARD[-4:]}" in note for note in slip.notes)
            and any(note.endswith(": 0") for note in slip.notes),
            f"the card and balance 0 on the slip: {slip}",
        )
        t._say(f"   Her welcome slip: {' / '.join(slip.notes)}")

    def _until_scanned(self, body: Mapping[str, str]) -> Reply:
        """``POST /v1/cards`` once the blank card's scan is in (422 no_card until then)."""
        t = self._tour
        deadline = time.monotonic() + WAIT_S
        while True:
            reply = t._answer("POST", "/v1/cards", body)
            if reply.status != 422 or time.monotonic() > deadline:
                t._check(reply.ok, f"the card handed out, got {reply.status} {reply.body}")
                return reply
            time.sleep(0.05)

    def _first_sale(self) -> None:
        t = self._tour
        t._begin("8. The new card collects at its first sale")
        amount = Decimal("15.00")
        loyalty = t._sell("demo-5", amount, lines=[("Birthday cake", "15.00")], card=BLANK_CARD)[
            "loyalty"
        ]
        earned = int(amount)
        got = (loyalty["state"], loyalty["credits"], loyalty["balance"])
        t._check(got == ("credited", earned, earned), f"{earned} points, balance {earned}: {got}")
        t._sales.append(Expected("demo-5", BLANK_CARD, amount))
        t._say(f"   Sale demo-5, EUR {amount}, with her new card: {'; '.join(loyalty['lines'])}.")

    def _newsletter(self) -> None:
        t = self._tour
        t._begin("9. A customer found by e-mail signs up for the newsletter")
        found = t._pos("GET", f"/v1/customers?email={quote(AHMED_EMAIL)}").body["customers"]
        t._check(len(found) == 1 and found[0]["display"] == AHMED_EMAIL, f"Ahmed, got {found}")
        ahmed = found[0]
        # the QR he collected in step 3 is on his account: the search reads the balance
        t._check(ahmed["balance"] == 7, f"Ahmed's 7 points, got {ahmed['balance']}")
        t._say(f"   Ahmed left his card at home: found by his e-mail, {ahmed['balance']} points.")
        answer = t._pos(
            "PUT", "/v1/customer/newsletter", {"subscribed": True, "customer_key": ahmed["key"]}
        ).body
        t._check(answer["status"] == "subscribed", f"Ahmed subscribed, got {answer}")
        t._say(f"   He wants the newsletter: {answer['message']}")

    def _attributes(self) -> dict[str, Any]:
        t = self._tour
        t._begin("10. Jan's attributes on the POS screen")
        jan: dict[str, Any] = t._pos("POST", "/v1/customer", {"email": JAN_EMAIL}).body
        attributes = jan["attributes"]
        wanted = {"firstname": "Jan", "tier": "Gold"}
        t._check(attributes.items() >= wanted.items(), f"{wanted} among {attributes}")
        t._say(
            f"   Jan is back without his card: the cashier finds him by e-mail; the POS "
            f"shows {', '.join(f'{k} {v}' for k, v in sorted(attributes.items()))}."
        )
        return jan

    def _giftcard_pays(self, jan: dict[str, Any]) -> None:
        t = self._tour
        t._begin("11. A giftcard pays part of Jan's sale")
        card = t._pos("GET", f"/v1/giftcards/{GIFTCARD}").body
        held = Decimal(card["balance"])
        t._check(held * 100 == GIFTCARD_CENTS, f"EUR 25.00 on the giftcard, got {card}")
        t._say(f"   He hands over a giftcard, ****{card['card_tail']}: EUR {held} on it.")
        payment = {
            "payment_id": "demo-gift-1",
            "card": GIFTCARD,
            "amount": str(GIFTCARD_PAYS),
            "sale_id": "demo-6",
        }
        paid = t._pos("POST", "/v1/giftcards/payments", payment).body
        left = held - GIFTCARD_PAYS
        t._check(Decimal(paid["balance"]) == left, f"EUR {left} left, got {paid}")
        amount = Decimal("18.40")
        sold = t._sell("demo-6", amount, lines=[("Cheese cake", "18.40")])["loyalty"]
        t._check(sold["state"] == "credited", f"credits on the receipt, got {sold}")
        t._sales.append(Expected("demo-6", JAN_EMAIL, amount))
        t._say(
            f"   Sale demo-6, EUR {amount}: EUR {GIFTCARD_PAYS} from the giftcard, the rest "
            f"in cash; {'; '.join(sold['lines'])}."
        )
        receipt = t._preview("demo-6", "6-sale-with-giftcard.png")
        expected = receipt_lines(jan["attributes"], t._till.receipt_attributes)
        t._check(receipt.customer_lines == expected, f"{expected} printed: {receipt}")
        amounts = (f"{left:.2f}", f"{left:.2f}".replace(".", ","))  # English, Dutch
        t._check(
            any(note.endswith(amounts) and card["card_tail"] not in note for note in receipt.notes)
            and any(card["card_tail"] in note for note in receipt.notes),
            f"the giftcard and EUR {left} left on the receipt: {receipt.notes}",
        )
        t._say(f"   The receipt prints {' / '.join((*receipt.customer_lines, *receipt.notes))}.")

    def _overspend(self) -> None:
        t = self._tour
        t._begin("12. More than the giftcard holds is refused")
        payment = {"payment_id": "demo-gift-2", "card": GIFTCARD, "amount": "20.00"}
        refused = t._answer("POST", "/v1/giftcards/payments", payment)
        code = refused.body.get("code") if isinstance(refused.body, dict) else None
        t._check(
            refused.status == 409 and code == "giftcard_insufficient",
            f"409 giftcard_insufficient, got {refused.status} {refused.body}",
        )
        t._say(f'   A EUR 20.00 payment from it: refused, "{refused.body["message"]}".')


def receipt_lines(attributes: Mapping[str, str], labels: Mapping[str, str]) -> tuple[str, ...]:
    """The attribute lines the receipt should print: ``[receipt] customer_attributes``
    (name -> label, an empty label prints the value alone), as the shop reads it."""
    lines = []
    for name, label in labels.items():
        if attributes.get(name):
            lines.append(f"{label}: {attributes[name]}" if label else attributes[name])
    return tuple(lines)
