"""Correcting a giftcard payment or top-up the cashier got wrong: the Register API undoes
only the card's last transaction (55025 for an older one), once per POS payment id."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

from register_agent.counter.giftcards import refusals as refuse
from register_agent.counter.giftcards.messages import GiftcardPaymentAnswer
from register_agent.counter.health import TillHealth
from register_agent.errors import CounterRefusal, LoyaltyApiError, OutcomeUnknown, RequestRejected
from register_agent.journal import GiftcardPayment, GiftcardState, Journal
from register_agent.loyalty.giftcards import GiftcardService

log = logging.getLogger(__name__)
_NOT_LAST = 55025
#: longer than a correction request can take in a running agent
STALE_CORRECTING_S = 30.0


def _unknown(payment_id: str) -> CounterRefusal:
    return CounterRefusal(
        "giftcard_payment_unknown", f"no giftcard payment {payment_id} on this till", status=404
    )


def _corrected(row: GiftcardPayment, correction_id: str | None) -> GiftcardPaymentAnswer:
    # the correction was the card's last transaction, so nothing came after the payment:
    # the balance is exactly the one after it, less what it moved
    after = None if row.balance_after is None else row.balance_after - row.amount_cents
    return GiftcardPaymentAnswer.of(
        row, corrected=True, balance_cents=after, transaction_id=correction_id
    )


class GiftcardCorrections:
    """Corrects confirmed giftcard payments and top-ups, each at most once."""

    def __init__(
        self,
        journal: Journal,
        cards: GiftcardService,
        health: TillHealth,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._cards = cards
        self._health = health
        self._clock = clock

    async def correct(self, payment_id: str) -> GiftcardPaymentAnswer:
        row = await self._journal.giftcard_payment(payment_id)
        if row is None:
            raise _unknown(payment_id)
        if row.state is GiftcardState.CORRECTED and row.result is not None:
            return GiftcardPaymentAnswer.model_validate(row.result)
        if (
            row.state is GiftcardState.CORRECTING
            and self._clock() - row.updated_at >= STALE_CORRECTING_S
        ):
            # left by a stopped agent: the correction may have landed (like a lost answer)
            await self._journal.move_giftcard_payment(
                payment_id, GiftcardState.CORRECTING, GiftcardState.CORRECT_UNKNOWN, self._clock()
            )
            row = dataclasses.replace(row, state=GiftcardState.CORRECT_UNKNOWN)
        if row.state not in (GiftcardState.DONE, GiftcardState.CORRECT_UNKNOWN):
            raise CounterRefusal(
                "giftcard_payment_not_done",
                f"giftcard payment {payment_id} is not confirmed ({row.state}); there is "
                "nothing to correct yet",
                status=409,
            )
        if row.transaction_id is None:
            # settled by the balance after a lost answer: its transaction id was never seen
            raise CounterRefusal(
                "giftcard_correct_unavailable",
                "this payment's transaction number is unknown (its answer was lost): book a "
                "top-up or a payment for the difference instead",
                status=409,
            )
        if not await self._journal.move_giftcard_payment(
            payment_id, row.state, GiftcardState.CORRECTING, self._clock()
        ):
            raise refuse.not_confirmed()
        return await self._send(row, row.transaction_id)

    async def _send(self, row: GiftcardPayment, transaction_id: str) -> GiftcardPaymentAnswer:
        deadline = self._cards.counter_deadline()
        try:
            made = await self._cards.correct_transaction(transaction_id, deadline=deadline)
        except OutcomeUnknown as exc:
            self._health.api_failed(exc)
            await self._back(row, GiftcardState.CORRECT_UNKNOWN)
            raise refuse.not_confirmed() from exc
        except LoyaltyApiError as exc:
            self._health.api_result(exc)
            if (
                isinstance(exc, RequestRejected)
                and exc.code == _NOT_LAST
                and (row.state is GiftcardState.CORRECT_UNKNOWN)
            ):
                # a correction whose answer was lost is now the card's last transaction,
                # or someone else used the card: only a person can tell which
                await self._back(row, GiftcardState.REVIEW)
                raise refuse.needs_review() from exc
            await self._back(row, row.state)
            raise refuse.refusal(exc) from exc
        self._health.api_answered()
        answer = _corrected(row, made.transaction_id)
        await self._journal.move_giftcard_payment(
            row.payment_id,
            GiftcardState.CORRECTING,
            GiftcardState.CORRECTED,
            self._clock(),
            correction_id=made.transaction_id,
            result=answer.model_dump(mode="json"),
        )
        log.info("giftcard payment %s corrected", row.payment_id)
        return answer

    async def _back(self, row: GiftcardPayment, state: GiftcardState) -> None:
        await self._journal.move_giftcard_payment(
            row.payment_id, GiftcardState.CORRECTING, state, self._clock()
        )
