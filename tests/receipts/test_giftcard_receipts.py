"""The giftcard lines of a sale's receipt: each confirmed payment with what is left on the
card, in the receipt's language; corrected payments and top-ups are not on it."""

from __future__ import annotations

from dataclasses import replace

from register_agent.config import ReceiptConfig
from register_agent.journal import GiftcardPayment, GiftcardState
from register_agent.receipts.giftcards import giftcard_lines, with_giftcards
from register_agent.receipts.layout import Receipt, layout_receipt

PAID = GiftcardPayment(
    "P-1", "d", "payment", "S-1", "9B21", "41650", -1000, 2500, 1500, GiftcardState.DONE, "77",
    None, None, 0.0, 0.0,
)  # fmt: skip


def test_paid_and_left_in_english_and_dutch() -> None:
    assert giftcard_lines([PAID], "en", "EUR") == (
        "Paid with giftcard ****9B21: €10.00",
        "Left on the giftcard: €15.00",
    )
    assert giftcard_lines([PAID], "nl", "EUR") == (
        "Betaald met cadeaukaart ****9B21: € 10,00",
        "Resterend saldo cadeaukaart: € 15,00",
    )


def test_corrected_payments_and_top_ups_are_left_out() -> None:
    corrected = replace(PAID, payment_id="P-2", state=GiftcardState.CORRECTED)
    top_up = replace(PAID, payment_id="T-1", kind="top_up", amount_cents=500)
    assert giftcard_lines([corrected, top_up], "en", "EUR") == ()
    receipt = Receipt(sale_id="S-1")
    assert with_giftcards(receipt, [corrected], "en", "EUR") is receipt


def test_the_lines_are_printed_on_the_slip() -> None:
    receipt = with_giftcards(Receipt(sale_id="S-1"), [PAID], "en", "EUR")
    text = layout_receipt(receipt, ReceiptConfig(), 42).plain_text()
    assert "Paid with giftcard ****9B21: €10.00" in text
    assert "Left on the giftcard: €15.00" in text
