"""The outbox's handlers for the operations that take credits back or give them back: a
refund (a reverse, or negative credits for a part) and a voided sale's reward claim.

A reverse names neither the operation nor what it reversed, so its reconciliation reads
the customer's transactions for a counter-entry of the right shape (``find_reversals``)
and leaves out those the journal knows as made by another of its operations.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from register_agent.errors import (
    AlreadyApplied,
    LoyaltyApiError,
    PosTransactionGone,
    RequestRejected,
)
from register_agent.journal import Journal, Operation, OperationState
from register_agent.journal.kinds import REFUND, REVERSE_CLAIM
from register_agent.journal.payloads import RefundPayload, RefundPlan, ReverseClaimPayload
from register_agent.journal.results import CreditsResult, RefundResult
from register_agent.loyalty import CreditAward, CustomerRef, LoyaltyService
from register_agent.outbox.contract import (
    Delivered,
    Progress,
    Reconciled,
    customer_ref,
    fitting_payload,
    payload_of,
    refused,
)
from register_agent.outbox.refund_plan import plan_refund

log = logging.getLogger(__name__)

#: the code the API refuses a POS transaction's fields with
INVALID_INPUT = 1003


class RefundHandler:
    """A refunded sale's credits taken back: a reverse, or negative credits for a part."""

    def __init__(self, loyalty: LoyaltyService, journal: Journal) -> None:
        self._loyalty = loyalty
        self._journal = journal

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        payload = payload_of(operation, RefundPayload)
        plan = payload.plan
        if plan is None:
            plan = await plan_refund(self._journal, operation)
            # durable before the POST: reconciliation must know which call may have gone
            # out, and a re-send repeats the same plan
            await progress.save(payload.planned(plan))
        if plan.credits == 0:
            # nothing to take back (a sale under one credit's worth): no call at all
            return Delivered(None, refund_result(None, plan))
        if plan.method == "reverse":
            try:
                award = await self._loyalty.reverse_award(plan.reception_id)
            except AlreadyApplied:  # orders: the whole return's key is taken, it landed
                balance = await balance_or_none(self._loyalty, _customer(plan))
                return Delivered(None, _applied(plan, balance))
            return Delivered(award.reception_id, refund_result(award, plan))
        return await self._take_back(operation, payload.planned(plan), plan, progress)

    async def _take_back(
        self, operation: Operation, payload: RefundPayload, plan: RefundPlan, progress: Progress
    ) -> Delivered:
        """Negative credits under the refund's own POS transaction, opened and saved before
        the credits are sent (as a sale's): a resend lands once or is answered 6001."""
        customer = _customer(plan)
        if payload.pos_transaction is None and not payload.unguarded:
            payload = payload.guarded_by(await self._open_guard(operation, payload, plan))
            await progress.save(payload)
        try:
            award = await self._loyalty.take_back_credits(
                customer,
                plan.credits,
                operation_id=operation.id,
                pos_transaction=payload.pos_transaction,
                original=plan.reception_id,
                amount=plan.amount,
            )
        except AlreadyApplied:
            # 6001: the refund's POS transaction has its reception, made by an earlier
            # attempt whose answer was lost. Explicit credits override the loyalty rules
            # (docs, "Create Credit Reception"), so what it took back is exactly the plan's;
            # its reception id is not known (no documented read finds it by its POS
            # transaction), and nothing later needs it
            log.info("refund %s: already applied (6001 on its own POS transaction)", operation.id)
            return Delivered(None, _applied(plan, await balance_or_none(self._loyalty, customer)))
        except PosTransactionGone:
            # 1027 on a POS transaction opened for this refund alone: nothing was applied by
            # this request, but an earlier attempt may have been, and the guard is gone:
            # from now on an unknown outcome is a person's to decide
            await progress.save(payload.guarded_by(None))
            raise
        return Delivered(award.reception_id, refund_result(award, plan))

    async def _open_guard(
        self, operation: Operation, payload: RefundPayload, plan: RefundPlan
    ) -> str | None:
        """The refund's own POS transaction; None when the API will not make one.

        The docs are silent on the sign of ``amount_in_cents`` (an integer, "purchase
        amount in cents"); the refunded money goes back, so it is sent negative, with the
        return's sale id as ``transaction_id``. Should the API refuse such a POS
        transaction (a refusal: 1003), the credits are sent without a link, the refund
        marked unguarded: if that answer is lost too, it goes to ``review``, never sent
        again blind. A failure that may have made one leaves it unlinked (it guards
        nothing and awards nothing), and the next attempt opens another.
        """
        sale = payload.sale_id or operation.sale_id or operation.id
        try:
            return await self._loyalty.open_pos_transaction(str(sale), -plan.amount)
        except RequestRejected as exc:
            if exc.code != INVALID_INPUT:
                raise  # not about this POS transaction (a wrong route, say): as any refusal
            log.warning("refund %s: no POS transaction (%s); sent unguarded", operation.id, exc)
            return None

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        payload = fitting_payload(operation, RefundPayload)
        plan = payload.plan if payload else None
        if plan is None:
            return Reconciled.NOT_APPLIED  # the plan is saved before any POST
        if plan.credits == 0 or not self._loyalty.can_reconcile or self._loyalty.keyed_writes:
            # no call was made; v1 refuses refunds on the till, before sending anything; an
            # order return goes again under its key, refused as taken had it landed
            return Reconciled.NOT_APPLIED
        customer = _customer(plan)
        if plan.method == "credits":
            guarded = (
                payload is not None and bool(payload.pos_transaction) and not payload.unguarded
            )
            if guarded or (payload is not None and payload.awaiting_guard):
                # Guarded: sent again under its own saved POS transaction, it lands once or
                # the server answers 6001 for the earlier one (send); nothing undocumented
                # (the agent_operation_id attribute the docs' list entries do not show)
                # decides. Awaiting its guard: lost while opening its POS transaction (or
                # stopped before saving it), the credits had not gone out; a new POS
                # transaction and the credits follow (the one that may have been made guards
                # nothing and awards nothing)
                return Reconciled.NOT_APPLIED
            # no guard: the API refused the POS transaction, it is gone, or an older agent
            # sent it without one. The docs offer nothing that tells whether negative
            # credits landed, so a person decides (review) rather than risk a double
            # deduction
            return Reconciled.UNRESOLVABLE
        landed = await reconcile_reverse(
            self._loyalty, self._journal, operation, customer, plan.reception_id
        )
        if isinstance(landed, Reconciled):
            return landed
        return Delivered(landed.reception_id, refund_result(landed, plan))


class ReverseClaimHandler:
    """A voided sale's reward claim undone (v3): the customer gets the credits back."""

    def __init__(self, loyalty: LoyaltyService, journal: Journal) -> None:
        self._loyalty = loyalty
        self._journal = journal

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        claim = payload_of(operation, ReverseClaimPayload).server_claim_id
        if not claim:
            raise refused(
                "the reward claim to reverse has no server id; reverse it in the Business Dashboard"
            )
        award = await self._loyalty.reverse_claim(claim)
        return Delivered(award.reception_id, credits_result(award))

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        if not self._loyalty.can_reconcile:
            return Reconciled.NOT_APPLIED  # v1 refuses reverses on the till: nothing was sent
        key = operation.customer_key or ""
        payload = fitting_payload(operation, ReverseClaimPayload)
        claim = payload.server_claim_id if payload else None
        if not key.startswith("customer:") or not claim:
            # the plan's contract gives every reverse_claim a "customer:<key>"; without one
            # nobody's transactions can be searched
            return Reconciled.UNRESOLVABLE
        customer = CustomerRef(key=key.removeprefix("customer:"))
        landed = await reconcile_reverse(self._loyalty, self._journal, operation, customer, claim)
        if isinstance(landed, Reconciled):
            return landed
        return Delivered(landed.reception_id, credits_result(landed))


def _customer(plan: RefundPlan) -> CustomerRef:
    customer = customer_ref(plan.customer)
    if customer is None:  # a plan is made only for a customer with a key
        raise refused("the refund's plan names no customer; nothing can be sent")
    return customer


async def reconcile_reverse(
    loyalty: LoyaltyService,
    journal: Journal,
    operation: Operation,
    customer: CustomerRef,
    original_id: str,
) -> CreditAward | Reconciled:
    """The counter-entry of ``operation``'s reverse of ``original_id``, with the balance
    after it, if it landed; told by the customer's transactions (a reverse names neither
    the operation nor what it reversed)."""
    found = await loyalty.find_reversals(customer, original_id)
    if found is None:
        # the reversed reception is not among the customer's transactions at all: nothing
        # sensible can be concluded
        return Reconciled.UNRESOLVABLE
    # a counter-entry of the same size that another of our operations made (the reverse
    # of another sale of the same amount) is not this one's
    others = await made_by_others(journal, operation.id, (REFUND, REVERSE_CLAIM))
    found = [award for award in found if award.reception_id not in others]
    if not found:
        # no counter-entry among every one of the customer's transactions (a documented
        # read, and the docs say a reverse makes one): it did not land, and it is sent
        # again. Decided so although the docs document no refusal of a second reverse
        # (only 1003): the list is read after the reconcile delay, when a request that
        # was cut off has long been written or dropped
        return Reconciled.NOT_APPLIED
    if len(found) > 1:
        # several candidates (a correction by hand, another till's reverse): which one is
        # ours cannot be told; a person decides rather than the agent guessing
        return Reconciled.UNRESOLVABLE
    balance = await balance_or_none(loyalty, customer)
    return replace(found[0], balance=balance)


async def made_by_others(journal: Journal, operation_id: str, kinds: tuple[str, ...]) -> set[str]:
    """The receptions the journal knows as made by its other operations of ``kinds``.

    Reads every finished operation still kept (retention): a rare path (an answer that
    was lost), so a few milliseconds on the writer thread are fine.
    """
    done = await journal.operations_in(OperationState.DONE)
    return {
        op.server_ref for op in done if op.kind in kinds and op.id != operation_id and op.server_ref
    }


def _applied(plan: RefundPlan, balance: int | None) -> RefundResult:
    return RefundResult(
        reception_id=None, credits=-plan.credits, balance=balance, amount=plan.amount
    )


def credits_result(award: CreditAward) -> CreditsResult:
    return CreditsResult(
        reception_id=award.reception_id, credits=award.credits, balance=award.balance
    )


def refund_result(award: CreditAward | None, plan: RefundPlan) -> RefundResult:
    # "amount" (the money refunded) lets a later partial refund of the same sale count
    # what was taken back already
    if award is None:
        return RefundResult(reception_id=None, credits=0, balance=None, amount=plan.amount)
    return RefundResult(
        reception_id=award.reception_id,
        credits=award.credits,
        balance=award.balance,
        amount=plan.amount,
    )


async def balance_or_none(loyalty: LoyaltyService, customer: CustomerRef) -> int | None:
    """The balance for the receipt after a reconciled change; the change stands without it.

    It is read now, so it is the balance after this change (the customer's later operations
    wait behind this one; only a reward claimed at the counter meanwhile could be in it).
    """
    try:
        return await loyalty.balance(customer)
    except LoyaltyApiError as exc:
        # no failure of this read (not even a refused key) may undo a found change
        log.info("balance after a reconciled change not read: %s", exc)
        return None
