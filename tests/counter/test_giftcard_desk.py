"""The giftcard desk on its own, with a scripted giftcard service (unit tests of one
module): the settling of lost answers and corrections that the sandbox cannot stage."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import pytest

from register_agent.common.events import EventBus
from register_agent.config import OutboxConfig, ReceiptConfig
from register_agent.counter.giftcards.desk import STALE_IN_FLIGHT_S, GiftcardDesk, _digest
from register_agent.counter.giftcards.messages import GiftcardPaymentRequest
from register_agent.counter.health import TillHealth
from register_agent.errors import CounterRefusal, OutcomeUnknown, RequestRejected
from register_agent.journal import GiftcardPayment, GiftcardState, Journal
from register_agent.loyalty.giftcards import Giftcard, GiftcardTransaction
from register_agent.loyalty.retries import Deadline

pytestmark = pytest.mark.anyio
CARD = "GC7F3A9B21"


class ScriptedCards:
    """A card of ``balance`` cents; ``fail`` names what the next write raises, and
    ``lands`` whether that write moved the money all the same."""

    version: Literal["v1", "v3"] = "v3"

    def __init__(self, balance: int) -> None:
        self.balance = balance
        self.fail: list[Exception] = []
        self.lands = False
        self.sent: list[int] = []

    def counter_deadline(self) -> Deadline:
        return Deadline.after(1.0)

    async def find_giftcard(self, card_hash: str, *, deadline: Deadline | None = None) -> Giftcard:
        return Giftcard("card-1", card_hash, "PHYSICAL", True, True, self.balance, None, None)

    async def giftcard_transaction(
        self, card_key: str, amount_cents: int, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        return self._write(amount_cents)

    async def correct_transaction(
        self, transaction_id: str, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        return self._write(-self.sent[-1])

    def _write(self, amount: int) -> GiftcardTransaction:
        if self.fail:
            error = self.fail.pop(0)
            if self.lands:
                self.balance += amount
                self.sent.append(amount)
            raise error
        self.balance += amount
        self.sent.append(amount)
        return GiftcardTransaction(f"t-{len(self.sent)}", amount)


def desk_for(journal: Journal, cards: ScriptedCards) -> GiftcardDesk:
    health = TillHealth(journal, OutboxConfig())
    return GiftcardDesk(journal, cards, health, EventBus(), ReceiptConfig())


def payment(payment_id: str, amount: str) -> GiftcardPaymentRequest:
    return GiftcardPaymentRequest(payment_id=payment_id, card=CARD, amount=Decimal(amount))


async def test_internal_error_1000_is_settled_by_the_balance(journal: Journal) -> None:
    cards = ScriptedCards(2500)
    cards.fail, cards.lands = [OutcomeUnknown("1000 on the write", code=1000)], True
    answer = await desk_for(journal, cards).pay(payment("P-1", "7.00"))
    assert (answer.balance, answer.transaction_id) == (Decimal("18.00"), None)
    assert cards.sent == [-700]


async def test_a_lost_correction_then_not_last_goes_to_review(journal: Journal) -> None:
    cards = ScriptedCards(2500)
    desk = desk_for(journal, cards)
    await desk.pay(payment("P-2", "5.00"))
    cards.fail, cards.lands = [OutcomeUnknown("reset")], True
    with pytest.raises(CounterRefusal) as first:
        await desk.correct("P-2")
    assert first.value.code == "giftcard_not_confirmed"
    cards.fail, cards.lands = [RequestRejected("not the last", code=55025)], False
    with pytest.raises(CounterRefusal) as second:
        await desk.correct("P-2")
    assert second.value.code == "giftcard_check_card"
    row = await journal.giftcard_payment("P-2")
    assert row is not None
    assert row.state == "review"
    assert cards.balance == 2500  # corrected once, never twice


async def test_a_refused_payment_may_be_sent_again(journal: Journal) -> None:
    cards = ScriptedCards(2500)
    desk = desk_for(journal, cards)
    cards.fail = [RequestRejected("expired", code=5002)]
    with pytest.raises(CounterRefusal) as refused:
        await desk.pay(payment("P-3", "1.00"))
    assert refused.value.code == "giftcard_expired"
    answer = await desk.pay(payment("P-3", "1.00"))
    assert answer.balance == Decimal("24.00")
    assert cards.sent == [-100]


async def test_a_payment_left_in_flight_by_a_stopped_agent_is_settled(journal: Journal) -> None:
    digest = _digest("payment", "P-4", CARD, -500, None)
    await journal.start_giftcard_payment(GiftcardPayment(
        "P-4", digest, "payment", None, "9B21", "card-1", -500, 2500, None, GiftcardState.IN_FLIGHT,
        None, None, None, 1000.0, 1000.0,
    ))  # fmt: skip
    cards = ScriptedCards(2000)  # the agent stopped after the payment landed
    desk = GiftcardDesk(
        journal,
        cards,
        TillHealth(journal, OutboxConfig()),
        EventBus(),
        ReceiptConfig(),
        clock=lambda: 1000.0 + STALE_IN_FLIGHT_S + 1,
    )
    answer = await desk.pay(payment("P-4", "5.00"))
    assert (answer.balance, answer.state) == (Decimal("20.00"), "done")
    assert cards.sent == []  # settled by the balance, not sent again
