"""Giftcards at the counter: look one up, pay part of a sale with it, top it up, correct
the last transaction. Online only, once per POS payment id (like the ``RewardDesk`` of
``counter/claims.py``).

A payment is never queued: offline, the POS hears "pay another way" instead of a payment
that could overspend later. The row is written ``in_flight`` before the request leaves.
The API takes no idempotency key, so a lost answer is settled by the card's balance (see
``_settle``). A scanned giftcard (``[scans] giftcard_patterns``) becomes a ``giftcard``
event with its balance for the POS screen.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from register_agent.common.events import EventBus
from register_agent.common.logs import remember_card
from register_agent.common.masking import safe_tail
from register_agent.common.money import to_cents, to_euros
from register_agent.config import ReceiptConfig
from register_agent.counter.giftcards import refusals as refuse
from register_agent.counter.giftcards.corrections import GiftcardCorrections
from register_agent.counter.giftcards.messages import (
    GiftcardPaymentAnswer,
    GiftcardPaymentRequest,
    GiftcardTopUpRequest,
    GiftcardView,
)
from register_agent.counter.health import TillHealth
from register_agent.errors import CounterRefusal, LoyaltyApiError, OutcomeUnknown
from register_agent.journal import GiftcardPayment, GiftcardState, Journal
from register_agent.loyalty.giftcards import Giftcard, GiftcardService
from register_agent.readers.scans import Scan
from register_agent.receipts.layout import Language

log = logging.getLogger(__name__)

#: an ambiguous payment whose card still shows the old balance is sent again only after
#: this long: a request the server is still working on must have landed by then
SETTLE_QUIET_S = 2.0
#: longer than a request and its settling can take in a running agent (counter deadlines)
STALE_IN_FLIGHT_S = 30.0
#: the states whose answer is final (the same id again returns it)
_ANSWERED = (GiftcardState.DONE, GiftcardState.CORRECTED)


def _digest(kind: str, payment_id: str, card: str, cents: int, sale_id: str | None) -> str:
    # The card is part of the digest (another card under the same id is a conflict), never
    # stored: the digest is salted with the payment id, so equal cards do not look equal.
    fields = {"kind": kind, "id": payment_id, "card": card, "cents": cents, "sale": sale_id}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class GiftcardDesk:
    """Giftcard look-ups, payments, top-ups and corrections for one till."""

    def __init__(
        self,
        journal: Journal,
        cards: GiftcardService,
        health: TillHealth,
        events: EventBus,
        receipt: ReceiptConfig,
        *,
        patterns: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._cards = cards
        self._health = health
        self._events = events
        self._receipt = receipt
        self._patterns = tuple(re.compile(pattern) for pattern in patterns)
        self._clock = clock
        self._corrections = GiftcardCorrections(journal, cards, health, clock)

    async def correct(self, payment_id: str) -> GiftcardPaymentAnswer:
        """Undo a payment or top-up (the card's last transaction only)."""
        return await self._corrections.correct(payment_id)

    # --- scans and look-ups ---------------------------------------------------------------

    def takes(self, value: str) -> bool:
        """Whether a scanned value is a giftcard (``[scans] giftcard_patterns``)."""
        return any(pattern.fullmatch(value) for pattern in self._patterns)

    async def scanned(self, scan: Scan) -> None:
        """A giftcard at the reader: its balance for the POS screen, or why not."""
        try:
            view = await self.look_up(scan.value)
        except CounterRefusal as refusal:
            reason = {"card_tail": safe_tail(scan.value), "code": refusal.code}
            await self._events.publish("giftcard_refused", {**reason, "reason": str(refusal)})
            return
        await self._events.publish(
            "giftcard", {**view.model_dump(mode="json"), "reader": scan.reader}
        )

    async def look_up(self, value: str) -> GiftcardView:
        card = await self._find(value)
        return GiftcardView(
            card_tail=card.tail,
            balance=to_euros(card.balance_cents),
            kind=card.kind,
            active=card.active,
            expired=card.expired(datetime.now(UTC).date()),
            can_top_up=card.upgradeable,
            expires_on=card.expires_on,
        )

    async def _find(self, value: str) -> Giftcard:
        remember_card(value)  # a line that holds it shows its last 4 only
        try:
            card = await self._cards.find_giftcard(value, deadline=self._cards.counter_deadline())
        except LoyaltyApiError as exc:
            self._health.api_result(exc)
            raise refuse.refusal(exc) from exc
        self._health.api_answered()
        return card

    # --- payments and top-ups -------------------------------------------------------------

    async def pay(self, request: GiftcardPaymentRequest) -> GiftcardPaymentAnswer:
        cents = -to_cents(request.amount)
        digest = _digest("payment", request.payment_id, request.card, cents, request.sale_id)
        return await self._move(
            request.payment_id,
            "payment",
            request.card,
            cents,
            sale_id=request.sale_id,
            digest=digest,
        )

    async def top_up(self, request: GiftcardTopUpRequest) -> GiftcardPaymentAnswer:
        cents = to_cents(request.amount)
        digest = _digest("top_up", request.top_up_id, request.card, cents, None)
        return await self._move(
            request.top_up_id, "top_up", request.card, cents, sale_id=None, digest=digest
        )

    async def _move(
        self,
        payment_id: str,
        kind: str,
        value: str,
        cents: int,
        *,
        sale_id: str | None,
        digest: str,
    ) -> GiftcardPaymentAnswer:
        remember_card(value)
        existing = await self._journal.giftcard_payment(payment_id)
        if existing is not None:
            if existing.request_digest != digest:
                raise refuse.conflict(payment_id)
            if existing.state in _ANSWERED and existing.result is not None:
                return GiftcardPaymentAnswer.model_validate(existing.result)
            existing = await self._left_in_flight(existing)
            if existing.state is GiftcardState.UNKNOWN:
                return await self._settle(existing, value, just_sent=False)
            if existing.state is GiftcardState.REVIEW:
                raise refuse.needs_review()
            if existing.state is not GiftcardState.REFUSED:
                raise refuse.not_confirmed()  # in flight in another request right now
        card = await self._find(value)
        if cents < 0 and card.balance_cents is not None and card.balance_cents < -cents:
            # no money moves: the cashier hears what the card holds and asks for the rest
            raise refuse.insufficient(card.balance_cents, *self._money_format())
        now = self._clock()
        stored, taken = await self._journal.start_giftcard_payment(GiftcardPayment(
            payment_id, digest, kind, sale_id, card.tail, card.key, cents, card.balance_cents,
            None, GiftcardState.IN_FLIGHT, None, None, None, now, now,
        ))  # fmt: skip
        if not taken or stored.request_digest != digest:
            raise refuse.not_confirmed()  # another request for this id got there first
        return await self._send(stored, card)

    async def _left_in_flight(self, row: GiftcardPayment) -> GiftcardPayment:
        """A row in flight for longer than any request lasts was left by a stopped agent
        (like an operation in flight at a restart, it may have landed): it is settled like a
        lost answer."""
        if (
            row.state is not GiftcardState.IN_FLIGHT
            or self._clock() - row.updated_at < STALE_IN_FLIGHT_S
        ):
            return row
        moved = await self._journal.move_giftcard_payment(
            row.payment_id, GiftcardState.IN_FLIGHT, GiftcardState.UNKNOWN, self._clock()
        )
        return dataclasses.replace(row, state=GiftcardState.UNKNOWN) if moved else row

    async def _send(self, row: GiftcardPayment, card: Giftcard) -> GiftcardPaymentAnswer:
        deadline = self._cards.counter_deadline()
        try:
            txn = await self._cards.giftcard_transaction(
                card.key, row.amount_cents, deadline=deadline
            )
        except OutcomeUnknown as exc:
            self._health.api_failed(exc)
            await self._journal.move_giftcard_payment(
                row.payment_id, GiftcardState.IN_FLIGHT, GiftcardState.UNKNOWN, self._clock()
            )
            log.warning("giftcard payment %s: answer lost (%s); settling", row.payment_id, exc)
            return await self._settle(row, card.hash, just_sent=True)
        except LoyaltyApiError as exc:
            self._health.api_result(exc)
            await self._journal.move_giftcard_payment(
                row.payment_id, GiftcardState.IN_FLIGHT, GiftcardState.REFUSED, self._clock()
            )
            raise refuse.refusal(exc, card.balance_cents, self._money_format()) from exc
        self._health.api_answered()
        balance = await self._balance_after(card, row)
        return await self._finish(row, GiftcardState.IN_FLIGHT, balance, txn.transaction_id)

    async def _balance_after(self, card: Giftcard, row: GiftcardPayment) -> int | None:
        """The balance as the API now says (another till may use the card too); computed
        from the balance read before when it cannot be read in time."""
        try:
            found = await self._cards.find_giftcard(
                card.hash, deadline=self._cards.counter_deadline()
            )
        except LoyaltyApiError:
            found = None
        if found is not None and found.balance_cents is not None:
            return found.balance_cents
        before = row.balance_before
        return None if before is None else before + row.amount_cents

    async def _finish(
        self,
        row: GiftcardPayment,
        expected: GiftcardState,
        balance: int | None,
        transaction_id: str | None,
    ) -> GiftcardPaymentAnswer:
        answer = GiftcardPaymentAnswer.of(
            row, corrected=False, balance_cents=balance, transaction_id=transaction_id
        )
        if not await self._journal.move_giftcard_payment(
            row.payment_id,
            expected,
            GiftcardState.DONE,
            self._clock(),
            balance_after=balance,
            transaction_id=transaction_id,
            result=answer.model_dump(mode="json"),
        ):
            # a person decided it while it was being settled (register-agent review)
            stored = await self._journal.giftcard_payment(row.payment_id)
            if stored is not None and stored.state in _ANSWERED and stored.result:
                return GiftcardPaymentAnswer.model_validate(stored.result)
            log.warning("giftcard payment %s landed, but was decided otherwise", row.payment_id)
        return answer

    async def _settle(
        self, row: GiftcardPayment, value: str, *, just_sent: bool
    ) -> GiftcardPaymentAnswer:
        """Decide whether a payment whose answer was lost moved money.

        The API takes no idempotency key and lists no card transactions, so the card's
        balance decides, compared with the one read just before sending: lower (higher for
        a top-up) by exactly the amount -> it landed; unchanged -> it did not, and it is
        sent again once the card has been quiet for SETTLE_QUIET_S; anything else (someone
        else used the card meanwhile) -> a person checks the card (state review).
        """
        try:
            card = await self._cards.find_giftcard(value, deadline=self._cards.counter_deadline())
        except LoyaltyApiError as exc:
            self._health.api_result(exc)
            raise refuse.not_confirmed() from exc  # stays unknown: the next repeat settles
        now, before = card.balance_cents, row.balance_before
        if now is not None and before is not None and now == before + row.amount_cents:
            log.info("giftcard payment %s: landed (settled by the balance)", row.payment_id)
            return await self._finish(row, GiftcardState.UNKNOWN, now, None)
        if now is not None and now == before:
            quiet = self._clock() - row.updated_at >= SETTLE_QUIET_S
            if just_sent or not quiet:
                raise refuse.not_confirmed()
            if not await self._journal.move_giftcard_payment(
                row.payment_id, GiftcardState.UNKNOWN, GiftcardState.IN_FLIGHT, self._clock()
            ):
                raise refuse.not_confirmed()
            log.info("giftcard payment %s: did not land; sending it again", row.payment_id)
            return await self._send(row, card)
        await self._journal.move_giftcard_payment(
            row.payment_id, GiftcardState.UNKNOWN, GiftcardState.REVIEW, self._clock()
        )
        log.warning("giftcard payment %s: cannot be settled; needs review", row.payment_id)
        raise refuse.needs_review()

    def _money_format(self) -> tuple[Language, str]:
        return self._receipt.language, self._receipt.currency
