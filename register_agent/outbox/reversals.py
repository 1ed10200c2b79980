"""The outbox's handlers for the operations that take credits back or give them back: a
refund (a reverse, or negative credits for a part) and a voided sale's reward claim.

A reverse names neither the operation nor what it reversed, so its reconciliation reads
the customer's transactions for a counter-entry of the right shape (``find_reversals``)
and leaves out those the journal knows as made by another of its operations.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from register_agent.errors import LoyaltyApiError, RequestRejected
from register_agent.journal import Journal, Operation, OperationState
from register_agent.journal.kinds import REFUND, REVERSE_CLAIM
from register_agent.loyalty import CreditAward, CustomerRef, LoyaltyService
from register_agent.outbox.refund_plan import RefundPlan, plan_refund
from register_agent.outbox.worker import Delivered, Progress, Reconciled

log = logging.getLogger(__name__)


class RefundHandler:
    """A refunded sale's credits taken back: a reverse, or negative credits for a part."""

    def __init__(self, loyalty: LoyaltyService, journal: Journal) -> None:
        self._loyalty = loyalty
        self._journal = journal

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        saved = operation.payload.get("plan")
        if saved is None:
            plan = await plan_refund(self._journal, operation)
            # durable before the POST: reconciliation must know which call may have gone
            # out, and a re-send repeats the same plan
            await progress.save({"plan": plan.to_json()})
        else:
            plan = RefundPlan.from_json(saved)
        if plan.credits == 0:
            # nothing to take back (a sale under one credit's worth): no call at all
            return Delivered(None, refund_result(None, plan))
        if plan.method == "reverse":
            award = await self._loyalty.reverse_award(plan.reception_id)
        else:
            award = await self._loyalty.take_back_credits(
                plan.customer, plan.credits, operation_id=operation.id
            )
        return Delivered(award.reception_id, refund_result(award, plan))

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        saved = operation.payload.get("plan")
        if saved is None:
            return Reconciled.NOT_APPLIED  # the plan is saved before any POST
        plan = RefundPlan.from_json(saved)
        if plan.credits == 0 or not self._loyalty.can_reconcile:
            # no call was made; v1 refuses refunds on the till, before sending anything
            return Reconciled.NOT_APPLIED
        if plan.method == "credits":
            found = await self._loyalty.find_award(plan.customer, operation.id)
            if found is None:
                return Reconciled.NOT_APPLIED
            balance = await balance_or_none(self._loyalty, plan.customer)
            return Delivered(
                found.reception_id, refund_result(replace(found, balance=balance), plan)
            )
        return await reconcile_reverse(
            self._loyalty,
            self._journal,
            operation,
            plan.customer,
            plan.reception_id,
            extra={"amount": str(plan.amount)},
        )


class ReverseClaimHandler:
    """A voided sale's reward claim undone (v3): the customer gets the credits back."""

    def __init__(self, loyalty: LoyaltyService, journal: Journal) -> None:
        self._loyalty = loyalty
        self._journal = journal

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        claim = operation.payload.get("server_claim_id")
        if not claim:
            raise RequestRejected(
                "the reward claim to reverse has no server id; reverse it in the Business "
                "Dashboard",
                status=0,
            )
        award = await self._loyalty.reverse_claim(str(claim))
        return Delivered(award.reception_id, credits_result(award))

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        if not self._loyalty.can_reconcile:
            return Reconciled.NOT_APPLIED  # v1 refuses reverses on the till: nothing was sent
        key = operation.customer_key or ""
        claim = operation.payload.get("server_claim_id")
        if not key.startswith("customer:") or not claim:
            # the plan's contract gives every reverse_claim a "customer:<key>"; without one
            # nobody's transactions can be searched
            return Reconciled.UNRESOLVABLE
        customer = CustomerRef(key=key.removeprefix("customer:"))
        return await reconcile_reverse(
            self._loyalty, self._journal, operation, customer, str(claim)
        )


async def reconcile_reverse(
    loyalty: LoyaltyService,
    journal: Journal,
    operation: Operation,
    customer: CustomerRef,
    original_id: str,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Delivered | Reconciled:
    """Whether ``operation``'s reverse of ``original_id`` landed, told by the customer's
    transactions (a reverse names neither the operation nor what it reversed)."""
    found = await loyalty.find_reversals(customer, original_id)
    if found is None:
        # the reversed reception is not among the customer's transactions at all: nothing
        # sensible can be concluded
        return Reconciled.UNRESOLVABLE
    # a counter-entry of the same size that another of our operations made (the reverse
    # of another sale of the same amount) is not this one's
    others = await _reverses_made(journal, operation.id)
    found = [award for award in found if award.reception_id not in others]
    if not found:
        # no counter-entry: the reverse did not land; sending it again is safe (and the
        # sandbox refuses a second reverse of the same reception should it have landed)
        return Reconciled.NOT_APPLIED
    if len(found) > 1:
        # several candidates (a correction by hand, another till's reverse): which one is
        # ours cannot be told; a person decides rather than the agent guessing
        return Reconciled.UNRESOLVABLE
    balance = await balance_or_none(loyalty, customer)
    award = replace(found[0], balance=balance)
    return Delivered(award.reception_id, {**credits_result(award), **(extra or {})})


async def _reverses_made(journal: Journal, operation_id: str) -> set[str]:
    """The receptions the journal knows as made by other refunds and reversed claims.

    Reads every finished operation still kept (retention): a rare path (a reverse whose
    answer was lost), so a few milliseconds on the writer thread are fine.
    """
    done = await journal.operations_in(OperationState.DONE)
    return {
        op.server_ref
        for op in done
        if op.kind in (REFUND, REVERSE_CLAIM) and op.id != operation_id and op.server_ref
    }


def credits_result(award: CreditAward) -> dict[str, Any]:
    return {"reception_id": award.reception_id, "credits": award.credits, "balance": award.balance}


def refund_result(award: CreditAward | None, plan: RefundPlan) -> dict[str, Any]:
    # "amount" (the money refunded) lets a later partial refund of the same sale count
    # what was taken back already
    if award is None:
        return {"reception_id": None, "credits": 0, "balance": None, "amount": str(plan.amount)}
    return {**credits_result(award), "amount": str(plan.amount)}


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
