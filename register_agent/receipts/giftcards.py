"""The giftcard part of a sale's receipt: each giftcard payment made for the sale, with
what it paid and what is left on the card, the card shown by its last 4 characters.

Decision: a payment posted after the receipt was printed is not printed by itself (a slip
for it alone would be paper the customer did not ask for); the POS shows its answer's
balance, and any reprint of the sale (COPY) includes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from register_agent.common.money import to_euros
from register_agent.journal import GiftcardPayment, GiftcardState
from register_agent.receipts.layout import Language, Receipt, format_money

_TEXTS: dict[str, dict[Language, str]] = {
    "paid": {
        "en": "Paid with giftcard ****{tail}: {amount}",
        "nl": "Betaald met cadeaukaart ****{tail}: {amount}",
    },
    "left": {
        "en": "Left on the giftcard: {balance}",
        "nl": "Resterend saldo cadeaukaart: {balance}",
    },
}


def giftcard_lines(
    payments: Sequence[GiftcardPayment], language: Language, currency: str
) -> tuple[str, ...]:
    """Two lines per confirmed payment of the sale; corrected ones are left out."""
    lines: list[str] = []
    for payment in payments:
        if payment.kind != "payment" or payment.state is not GiftcardState.DONE:
            continue
        paid = format_money(to_euros(-payment.amount_cents), language, currency)
        lines.append(_TEXTS["paid"][language].format(tail=payment.card_tail, amount=paid))
        if payment.balance_after is not None:
            left = format_money(to_euros(payment.balance_after), language, currency)
            lines.append(_TEXTS["left"][language].format(balance=left))
    return tuple(lines)


def with_giftcards(
    receipt: Receipt, payments: Sequence[GiftcardPayment], language: Language, currency: str
) -> Receipt:
    """``receipt`` with its sale's giftcard payments among its notes."""
    lines = giftcard_lines(payments, language, currency)
    return dataclasses.replace(receipt, notes=(*receipt.notes, *lines)) if lines else receipt
