"""Refunds and reversals: the outbox's handlers for the ``refund`` and ``reverse_claim``
operations, and what a refund takes back, decided from the journal before anything is sent.

A whole refund reverses the sale's credit reception; a partial one takes back credits in
proportion to the money refunded (register-api.md 5: negative credits, never a negative
purchase amount). Shares are counted cumulatively over the sale's earlier refunds, so
refunding a sale in parts never takes back more (or fewer) credits than it earned.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from register_agent.errors import LoyaltyApiError, NotApplied, RequestRejected
from register_agent.journal import Journal, Operation, OperationState
from register_agent.loyalty import CreditAward, CustomerRef, LoyaltyService
from register_agent.outbox import Delivered, Progress, Reconciled

log = logging.getLogger(__name__)

#: the operation kinds (register_agent.operations re-exports them for the till)
CREDIT_RECEPTION = "credit_reception"
REFUND = "refund"
REVERSE_CLAIM = "reverse_claim"
_ACTIVE = (OperationState.PENDING, OperationState.IN_FLIGHT, OperationState.UNKNOWN)


@dataclass(frozen=True)
class RefundPlan:
    """The call a refund makes, saved in its payload before the call goes out."""

    method: Literal["reverse", "credits"]
    customer: CustomerRef
    reception_id: str  # the sale's credit reception
    credits: int  # credits to take back (>= 0)
    amount: Decimal  # the money refunded

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "customer": {"key": self.customer.key, "card": self.customer.card},
            "reception_id": self.reception_id,
            "credits": self.credits,
            "amount": str(self.amount),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RefundPlan:
        customer = value["customer"]
        return cls(
            method="reverse" if value["method"] == "reverse" else "credits",
            customer=CustomerRef(key=customer["key"], card=customer.get("card")),
            reception_id=value["reception_id"],
            credits=int(value["credits"]),
            amount=Decimal(value["amount"]),
        )


def _refused(message: str) -> RequestRejected:
    # status 0: refused by the till itself, nothing was sent; the operation is dead and
    # the operator sees the message
    return RequestRejected(message, status=0)


async def plan_refund(journal: Journal, refund: Operation) -> RefundPlan:
    """The plan for ``refund``; RequestRejected when there is nothing (more) to refund."""
    original = await _original(journal, refund.payload.get("original_operation"))
    result = original.result or {}
    customer = result.get("customer") or original.payload.get("customer") or {}
    if not result.get("reception_id") or not customer.get("key"):
        raise _refused(f"the sale's credit reception {original.id} has no server id to refund")
    earlier = await _earlier_refunds(journal, refund, original)
    sale_amount = Decimal(original.payload["amount"])
    earned = int(result.get("credits") or 0)
    results = [op.result or {} for op in earlier]
    refunded = sum((Decimal(done["amount"]) for done in results), Decimal(0))
    taken = sum(-int(done["credits"]) for done in results)
    amount = _refund_amount(refund.payload.get("amount"), sale_amount - refunded)
    ref = CustomerRef(key=str(customer["key"]), card=customer.get("card"))
    if refund.payload.get("amount") is None and not earlier:
        return RefundPlan("reverse", ref, str(result["reception_id"]), max(0, earned), amount)
    # the share of the credits for everything refunded so far, minus what was taken back
    # already; half a credit is rounded up (ROUND_HALF_UP), and the last part takes exactly
    # the rest, so the parts add up to what the sale earned
    if refunded + amount == sale_amount:
        credits = earned - taken
    else:
        share = earned * (refunded + amount) / sale_amount
        credits = int(share.to_integral_value(rounding=ROUND_HALF_UP)) - taken
    credits = min(max(0, credits), max(0, earned - taken))
    return RefundPlan("credits", ref, str(result["reception_id"]), credits, amount)


async def _original(journal: Journal, original_id: object) -> Operation:
    """The sale's credit reception, delivered; anything else has nothing to take back."""
    original = await journal.operation(str(original_id)) if original_id else None
    if original is None:
        raise _refused(
            f"the refunded sale's operation {original_id} is not in the journal (removed "
            "after the retention period?); take the credits back in the Business Dashboard"
        )
    if original.kind != CREDIT_RECEPTION:
        raise _refused(
            f"operation {original.id} is a {original.kind}, not a customer's credit "
            "reception: credits claimed through a receipt's QR code cannot be taken back"
        )
    if original.state in _ACTIVE:
        # the journal hands out one operation per customer in order, so this is only a
        # guard: wait (pending, backoff) until the sale's credits are delivered
        raise NotApplied(f"the sale's credits ({original.id}) are not delivered yet")
    if original.state is OperationState.DEAD:
        raise _refused(
            f"the sale's credits were never awarded ({original.id} is dead: "
            f"{original.last_error}); there is nothing to take back"
        )
    if original.state is OperationState.REVIEW:
        # waiting here would hold up every later operation of this customer for as long as
        # the review takes; refused instead, visible next to the review
        raise _refused(
            f"whether the sale's credits landed is under review ({original.id}); resolve "
            "the review with `register-agent review`, then refund the sale again"
        )
    return original


async def _earlier_refunds(
    journal: Journal, refund: Operation, original: Operation
) -> list[Operation]:
    """The done refunds of the same sale before this one (dead ones took nothing back)."""
    # a refund may be journaled under the refunded sale or under a return sale of its own
    sale_ids = {original.sale_id, refund.payload.get("sale_id"), refund.sale_id} - {None}
    seen: dict[str, Operation] = {}
    for sale_id in sale_ids:
        for op in await journal.operations_of_sale(str(sale_id)):
            seen[op.id] = op
    earlier = [
        op
        for op in seen.values()
        if op.kind == REFUND
        and op.seq < refund.seq
        and op.payload.get("original_operation") == original.id
    ]
    for op in earlier:
        if op.state in _ACTIVE:
            raise NotApplied(f"an earlier refund of this sale ({op.id}) is not delivered yet")
        if op.state is OperationState.REVIEW:
            raise _refused(
                f"an earlier refund of this sale ({op.id}) is under review, so what is left "
                "to take back is unknown; resolve the review, then refund again"
            )
    return [op for op in earlier if op.state is OperationState.DONE and op.result]


def _refund_amount(asked: object, left: Decimal) -> Decimal:
    if left <= 0:
        raise _refused("this sale was refunded in full already; there is nothing left")
    if asked is None:
        return left
    amount = Decimal(str(asked))
    if amount <= 0 or amount > left:
        raise _refused(f"a refund of {amount} does not fit what is left of the sale ({left})")
    return amount


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
        award = await self._loyalty.reverse_claim(operation.payload["server_claim_id"])
        return Delivered(award.reception_id, credits_result(award))

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        if not self._loyalty.can_reconcile:
            return Reconciled.NOT_APPLIED  # v1 refuses reverses on the till: nothing was sent
        key = operation.customer_key or ""
        if not key.startswith("customer:"):
            # the plan's contract gives every reverse_claim a "customer:<key>"; without one
            # nobody's transactions can be searched
            return Reconciled.UNRESOLVABLE
        customer = CustomerRef(key=key.removeprefix("customer:"))
        original = operation.payload["server_claim_id"]
        return await reconcile_reverse(self._loyalty, self._journal, operation, customer, original)


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
