"""What a refund takes back, decided from the journal before anything is sent (the
``refund`` handler in ``reversals`` sends it).

A whole refund reverses the sale's credit reception; a partial one takes back credits in
proportion to the money refunded (negative credits, as the docs advise, never a negative
purchase amount). Shares are counted cumulatively over the sale's earlier refunds, so
refunding a sale in parts never takes back more (or fewer) credits than it earned.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from register_agent.errors import NotApplied
from register_agent.journal import Journal, Operation, OperationState
from register_agent.journal.kinds import CREDIT_RECEPTION, REFUND
from register_agent.journal.payloads import CreditReceptionPayload, RefundPayload, RefundPlan
from register_agent.journal.results import CreditReceptionResult, RefundResult
from register_agent.outbox.contract import amount_of, payload_of, refused

_ACTIVE = (OperationState.PENDING, OperationState.IN_FLIGHT, OperationState.UNKNOWN)


async def plan_refund(journal: Journal, refund: Operation) -> RefundPlan:
    """The plan for ``refund``; RequestRejected when there is nothing (more) to refund."""
    asked = payload_of(refund, RefundPayload)
    original = await _original(journal, asked.original_operation)
    sold = payload_of(original, CreditReceptionPayload)
    result = original.result_as(CreditReceptionResult)  # None: marked applied by a person
    if result is None or not result.reception_id or not result.customer.key:
        raise refused(f"the sale's credit reception {original.id} has no server id to refund")
    earned = result.credits
    earlier = await _earlier_refunds(journal, refund, asked, original)
    sale_amount = amount_of(sold.amount)
    refunded = sum((done.amount for done in earlier), Decimal(0))
    taken = sum(-done.credits for done in earlier)
    amount = _refund_amount(asked.amount, sale_amount - refunded)
    whole = asked.amount is None and not earlier
    if whole:
        credits = max(0, earned)
    else:
        credits = credits_to_take_back(earned, taken, (refunded + amount) / sale_amount)
    return RefundPlan(
        method="reverse" if whole else "credits",
        customer=result.customer,
        reception_id=result.reception_id,
        credits=credits,
        amount=amount,
    )


def credits_to_take_back(earned: int, taken: int, refunded_share: Decimal) -> int:
    """Credits to take back now: the refunded share of what the sale earned, less what
    earlier parts took back. Half a credit rounds up (ROUND_HALF_UP); the share is counted
    over all parts, so the parts add up to exactly what the sale earned."""
    due = (earned * refunded_share).to_integral_value(rounding=ROUND_HALF_UP)
    return min(max(0, int(due) - taken), max(0, earned - taken))


async def _original(journal: Journal, original_id: str) -> Operation:
    """The sale's credit reception, delivered; anything else has nothing to take back."""
    original = await journal.operation(original_id) if original_id else None
    if original is None:
        raise refused(
            f"the refunded sale's operation {original_id} is not in the journal (removed "
            "after the retention period?); take the credits back in the Business Dashboard"
        )
    if original.kind != CREDIT_RECEPTION:
        raise refused(
            f"operation {original.id} is a {original.kind}, not a customer's credit "
            "reception: credits claimed through a receipt's QR code cannot be taken back"
        )
    if original.state in _ACTIVE:
        # the journal hands out one operation per customer in order, so this is only a
        # guard: wait (pending, backoff) until the sale's credits are delivered
        raise NotApplied(f"the sale's credits ({original.id}) are not delivered yet")
    if original.state is OperationState.DEAD:
        raise refused(
            f"the sale's credits were never awarded ({original.id} is dead: "
            f"{original.last_error}); there is nothing to take back"
        )
    if original.state is OperationState.EXPORTED:
        raise refused(
            f"the sale's credits ({original.id}) were moved to a replacement till "
            "(register-agent export); refund the sale there"
        )
    if original.state is OperationState.REVIEW:
        # waiting here would hold up every later operation of this customer for as long as
        # the review takes; refused instead, visible next to the review
        raise refused(
            f"whether the sale's credits landed is under review ({original.id}); resolve "
            "the review with `register-agent review`, then refund the sale again"
        )
    return original


async def _earlier_refunds(
    journal: Journal, refund: Operation, asked: RefundPayload, original: Operation
) -> list[RefundResult]:
    """What the done refunds of the same sale before this one took back (dead ones took
    nothing)."""
    # a refund may be journaled under the refunded sale or under a return sale of its own
    sale_ids = {original.sale_id, asked.sale_id, refund.sale_id} - {None}
    seen: dict[str, Operation] = {}
    for sale_id in sale_ids:
        for op in await journal.operations_of_sale(str(sale_id)):
            seen[op.id] = op
    earlier = [
        op
        for op in seen.values()
        if op.kind == REFUND and op.seq < refund.seq and _refunds(op, original)
    ]
    for op in earlier:
        if op.state is OperationState.DONE and op.result_as(RefundResult) is None:
            # e.g. resolved by hand from review: what it took back is not recorded
            raise refused(
                f"what the earlier refund {op.id} of this sale took back is not recorded; "
                "take these credits back in the Business Dashboard"
            )
        if op.state in _ACTIVE:
            raise NotApplied(f"an earlier refund of this sale ({op.id}) is not delivered yet")
        if op.state is OperationState.REVIEW:
            raise refused(
                f"an earlier refund of this sale ({op.id}) is under review, so what is left "
                "to take back is unknown; resolve the review, then refund again"
            )
    return [
        done
        for op in earlier
        if op.state is OperationState.DONE and (done := op.result_as(RefundResult)) is not None
    ]


def _refunds(operation: Operation, original: Operation) -> bool:
    """Whether ``operation`` (a refund) takes credits back from ``original``."""
    payload = operation.payload
    return isinstance(payload, RefundPayload) and payload.original_operation == original.id


def _refund_amount(asked: str | None, left: Decimal) -> Decimal:
    if left <= 0:
        raise refused("this sale was refunded in full already; there is nothing left")
    if asked is None:
        return left
    amount = amount_of(asked)
    if amount <= 0 or amount > left:
        raise refused(f"a refund of {amount} does not fit what is left of the sale ({left})")
    return amount
