"""What the POS and the till say about giftcards: the local API's giftcard requests and
answers, as typed models (money a decimal string on the wire, a ``Decimal`` inside).

The card is the value in its QR / barcode, a bearer secret: it comes in with a request,
and every answer shows its last 4 characters only.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Protocol

from pydantic import Field

from register_agent.common.money import to_euros
from register_agent.counter.messages import Amount, Message, PosId
from register_agent.journal import GiftcardPayment

#: a giftcard value as scanned or typed: the scan whitelist's characters, at most 64
CardValue = Annotated[str, Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
#: a giftcard amount: a plain decimal string like a sale's, above zero
Money = Annotated[Amount, Field(gt=0)]


class GiftcardPaymentRequest(Message):
    """``POST /v1/giftcards/payments``: the card pays ``amount`` of a sale. The payment id
    is the idempotency key: the same id twice moves money once."""

    payment_id: PosId
    card: CardValue
    amount: Money
    sale_id: PosId | None = None  # the sale it pays: its receipt shows the payment


class GiftcardTopUpRequest(Message):
    """``POST /v1/giftcards/top-ups``: load ``amount`` onto the card, once per top-up id."""

    top_up_id: PosId
    card: CardValue
    amount: Money


class GiftcardView(Message):
    """``GET /v1/giftcards/{card}`` and the ``giftcard`` event: the card for the screen."""

    card_tail: str
    balance: Decimal | None  # None: the API did not say
    kind: str  # PHYSICAL or DIGITAL
    active: bool
    expired: bool
    can_top_up: bool | None
    expires_on: date | None = None


class GiftcardPaymentAnswer(Message):
    """A payment or top-up as booked; ``state`` "corrected" once it was undone."""

    payment_id: str
    kind: Literal["payment", "top_up"]
    state: Literal["done", "corrected"]
    card_tail: str
    amount: Decimal  # what the card paid (payment) or received (top-up), positive
    balance: Decimal | None  # the card's balance after it (after the correction, if any)
    sale_id: str | None = None
    #: the Register API's transaction id; None when a lost answer was settled by the balance
    transaction_id: str | None = None

    @classmethod
    def of(
        cls,
        row: GiftcardPayment,
        *,
        corrected: bool,
        balance_cents: int | None,
        transaction_id: str | None,
    ) -> GiftcardPaymentAnswer:
        """The answer for the journal's ``row``, booked (or corrected), with the balance after."""
        return cls(
            payment_id=row.payment_id,
            kind="top_up" if row.kind == "top_up" else "payment",
            state="corrected" if corrected else "done",
            card_tail=row.card_tail,
            amount=to_euros(abs(row.amount_cents)),
            balance=to_euros(balance_cents),
            sale_id=row.sale_id,
            transaction_id=transaction_id,
        )


class GiftcardApi(Protocol):
    """What the local API asks of the till's giftcard desk; refusals are ``CounterRefusal``."""

    async def look_up(self, value: str) -> GiftcardView: ...

    async def pay(self, request: GiftcardPaymentRequest) -> GiftcardPaymentAnswer: ...

    async def top_up(self, request: GiftcardTopUpRequest) -> GiftcardPaymentAnswer: ...

    async def correct(self, payment_id: str) -> GiftcardPaymentAnswer: ...
