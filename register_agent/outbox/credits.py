"""The outbox's handler of a sale's credits (``credit_reception``): the card resolved and,
on v3, the sale's POS transaction opened before it goes in flight; the award; and how a lost
answer is cleared up (docs/architecture.md, "Exactly once"). The orders backend's award is
an order under the sale's key, found by that key when its answer was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from register_agent.errors import (
    AlreadyApplied,
    LoyaltyApiError,
    NotApplied,
    OutcomeUnknown,
    PosTransactionGone,
)
from register_agent.journal import Journal, Operation
from register_agent.journal.kinds import (
    CREDIT_RECEPTION,
    REFUND,
    REVERSE_CLAIM,
)
from register_agent.journal.payloads import CreditReceptionPayload
from register_agent.loyalty import CreditAward, CustomerRef, LoyaltyService
from register_agent.outbox.contract import (
    Delivered,
    NotPrepared,
    Progress,
    Reconciled,
    amount_of,
    award_result,
    crash_point,
    customer_ref,
    fitting_payload,
    payload_of,
    resolve_card,
    stored_customer,
)
from register_agent.outbox.keyed import reconcile_keyed_award, sale_lines
from register_agent.outbox.reversals import (
    balance_or_none,
    made_by_others,
)

log = logging.getLogger(__name__)

#: the crash point (REGISTER_AGENT_CRASH_AT) between a v3 POS transaction and its credits
BETWEEN_POS_TRANSACTION_AND_CREDIT = "between_pos_transaction_and_credit"


class CreditReceptionHandler:
    """A sale's credits: resolve the card if needed, then (v3) POS transaction and award."""

    def __init__(self, loyalty: LoyaltyService, journal: Journal) -> None:
        self._loyalty = loyalty
        self._journal = journal

    async def prepare(self, operation: Operation) -> CreditReceptionPayload | None:
        """What the credits need that can credit nothing: the customer behind a card
        scanned offline (a read) and, on v3, the sale's POS transaction (unlinked, it awards
        nothing). The worker saves it with the move to ``in_flight``, in one commit
        (docs/architecture.md, "Exactly once", rule 2); None when nothing was missing."""
        ready: list[CreditReceptionPayload] = []
        try:
            payload = payload_of(operation, CreditReceptionPayload)
            await self._ready(payload, operation.attempts + 1, ready.append)
        except LoyaltyApiError as exc:
            raise NotPrepared(exc, ready[-1] if ready else None) from exc
        return ready[-1] if ready else None

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        payload = payload_of(operation, CreditReceptionPayload)
        amount = amount_of(payload.amount)
        attempt = operation.attempts
        ready, customer = await self._ready(payload, attempt)
        if ready is not payload:
            # sent unprepared (only a caller other than the worker does that): durable
            # before the credits, so reconciliation knows whom to look at and under which
            # POS transaction it was sent
            await progress.save(ready)
        payload = ready
        if payload.pos_transaction is not None and payload.pos_transaction_attempt == attempt:
            crash_point(BETWEEN_POS_TRANSACTION_AND_CREDIT)  # opened for this attempt, saved
        try:
            award = await self._award(operation, customer, amount, payload, progress)
        except PosTransactionGone as gone:
            payload = await self._replace_gone(payload, attempt, gone, progress)
            payload = await self._open_pos_transaction(payload, amount, attempt)
            await progress.save(payload)  # before the credits it guards
            try:
                award = await self._award(operation, customer, amount, payload, progress)
            except PosTransactionGone as again:
                # the new one, used by this refused request only, is gone too: nothing was
                # credited through either; the next attempt opens another after a backoff
                await self._replace_gone(payload, attempt, again, progress)
                raise NotApplied(f"{again}; a new one is opened on the next attempt") from again
        return Delivered(award.reception_id, award_result(award, customer))

    async def _ready(
        self,
        payload: CreditReceptionPayload,
        attempt: int,
        found: Callable[[CreditReceptionPayload], object] = lambda _: None,
    ) -> tuple[CreditReceptionPayload, CustomerRef]:
        """The payload with its customer resolved and (v3) a POS transaction opened by
        ``attempt``; the same object when both were there. ``found`` hears of each step's
        payload as it is made."""
        customer = customer_ref(payload.customer)
        if customer is None:
            customer = await resolve_card(self._loyalty, payload.card)
            payload = payload.resolved(stored_customer(customer))
            found(payload)
        if payload.pos_transaction is None:
            opened = await self._open_pos_transaction(payload, amount_of(payload.amount), attempt)
            if opened is not payload:
                payload = opened
                found(payload)
        return payload, customer

    async def _award(
        self,
        operation: Operation,
        customer: CustomerRef,
        amount: Decimal,
        payload: CreditReceptionPayload,
        progress: Progress,
    ) -> CreditAward:
        try:
            return await self._loyalty.award_credits(
                customer,
                amount,
                sale_id=payload.sale_id,
                operation_id=operation.id,
                pos_transaction=payload.pos_transaction,
                lines=sale_lines(payload),
            )
        except AlreadyApplied:
            # 6001: our POS transaction has its reception. Remembered, so that should the
            # look-up by operation id miss it, reconciliation does not send it again (and
            # meet 6001 again, with no delay, forever)
            await progress.save(payload.applied_already())
            raise

    async def _replace_gone(
        self,
        payload: CreditReceptionPayload,
        attempt: int,
        gone: PosTransactionGone,
        progress: Progress,
    ) -> CreditReceptionPayload:
        """1027: the sale's POS transaction does not exist (any more). The payload without
        it, saved, when nothing can have been credited through it; else OutcomeUnknown.

        Can a POS transaction that is gone carry a credit? The 1027 answer is an error, so
        *this* request credited nothing. But a credit reception an earlier request linked
        to it stays a credit reception: nothing in the docs says a reception disappears
        with its POS transaction, so the customer would keep those credits. Whether an
        earlier request used it is known from the attempt that opened it:

        - opened in this very attempt, only this refused request used it: nothing was
          credited through it, and a new POS transaction is as safe as the first (opened,
          saved before use, and guarded by 6001 from then on);
        - opened by an earlier attempt (or not recorded, by an older agent), an earlier
          request may have landed with it, and its 6001 guard is gone with it. Only the
          operation id can tell now: the operation becomes unknown and reconciliation looks
          for it (``reconcile``); found, it is done; not found, a person decides (review),
          since the documented transaction list need not show the id, rather than risk
          crediting the sale twice.
        """
        if payload.pos_transaction_attempt != attempt:
            await progress.save(payload.gone())
            raise OutcomeUnknown(
                f"{gone}; an earlier attempt may have credited the sale with it, so it is "
                "looked for by its operation id before anything is sent again",
                status=gone.status,
                code=gone.code,
            ) from gone
        log.info("sale %s: its POS transaction is gone (1027); opening a new one", payload.sale_id)
        payload = payload.with_pos_transaction(None, None)
        await progress.save(payload)  # a crash now: the next attempt opens a new one
        return payload

    async def _open_pos_transaction(
        self, payload: CreditReceptionPayload, amount: Decimal, attempt: int
    ) -> CreditReceptionPayload:
        """v3 step 1 (v1 has none: the payload stays as it is), saved by the caller before
        the credits, with the attempt that opened it, which tells what a 1027 on it may hide
        (_replace_gone); every later attempt reuses it and 6001 guards it. Its outcome may
        be unknown: the operation is not in flight yet then, and an unlinked POS
        transaction awards nothing, so the next attempt opens another.

        Not asked first whether a POS transaction with this sale id exists (one made
        before the journal was lost): v3 documents no such look-up, only create and push,
        and v1 has no POS transaction to ask about (docs/register-api.md, decision 26).
        The journal is the guard, and a till never starts on a lost one without a
        person's decision (journal/identity.py)."""
        pos_transaction = await self._loyalty.open_pos_transaction(payload.sale_id, amount)
        if pos_transaction is None:
            return payload
        return payload.with_pos_transaction(pos_transaction, attempt)

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        payload = fitting_payload(operation, CreditReceptionPayload)
        customer = customer_ref(payload.customer) if payload else None
        if payload is None or customer is None:
            # the resolved customer is saved before any POST (see send): nothing was posted
            return Reconciled.NOT_APPLIED
        if not self._loyalty.can_reconcile:
            return Reconciled.UNRESOLVABLE  # v1: nothing can tell; a person reviews it
        if self._loyalty.keyed_writes:  # orders: found by the key, before any resend
            return await reconcile_keyed_award(self._loyalty, operation, payload, customer)
        if payload.pos_transaction_gone:
            # the POS transaction an earlier attempt may have credited through is gone, and
            # with it the 6001 guard; the documented list cannot tell this sale's reception
            # from another of the same amount: a person decides rather than risk a second
            log.warning("operation %s: its POS transaction is gone (1027)", operation.id)
            return Reconciled.UNRESOLVABLE
        if not payload.already_applied:
            # sent again under the saved POS transaction (or, with none saved, nothing was
            # sent): it lands once, or the server answers 6001 for the earlier attempt. The
            # documented guard decides, not our attribute, which the docs' list lacks
            return Reconciled.NOT_APPLIED
        return await self._credited(operation, payload, customer)

    async def _credited(
        self, operation: Operation, payload: CreditReceptionPayload, customer: CustomerRef
    ) -> Delivered | Reconciled:
        """6001: the sale is credited; its reception, for the receipt's credits and a later
        refund's reverse, found among the customer's by documented fields only: a sale of
        this amount, at this shop, not known as another of the journal's operations.

        No bound in time: the entries carry the server's clock and the journal the till's,
        which may be off by any amount (a bound from the wrong clock would hide the sale's
        own reception). An older reception of the same amount the journal does not know
        (another till's, or one past the retention) makes it two: review, never a guess."""
        found = await self._loyalty.find_award(customer, amount=amount_of(payload.amount))
        # every reception the journal knows as its own: a voided claim's counter-entry
        # gives credits too, and may lack the unit
        kinds = (CREDIT_RECEPTION, REFUND, REVERSE_CLAIM)
        others = await made_by_others(self._journal, operation.id, kinds)
        found = [award for award in found if award.reception_id not in others]
        if len(found) != 1:
            # credited for sure (6001), but which reception is ours cannot be told (two of
            # the same amount, or none listed yet): a person confirms it (review) rather
            # than the receipt and a later refund using a guess
            log.warning("operation %s: credited (6001), %d candidates", operation.id, len(found))
            return Reconciled.UNRESOLVABLE
        balance = await balance_or_none(self._loyalty, customer)
        award = replace(found[0], balance=balance, operation_id=operation.id)
        return Delivered(award.reception_id, award_result(award, customer))
