"""What a refund takes back, decided from the journal before anything is sent (the
``refund`` handler in ``reversals`` sends it).

A whole refund reverses the sale's credit reception; a partial one takes back credits in
proportion to the money refunded (negative credits, as the docs advise, never a negative
purchase amount). Shares are counted cumulatively over the sale's earlier refunds, so
refunding a sale in parts never takes back more (or fewer) credits than it earned.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from register_agent.errors import NotApplied, RequestRejected
from register_agent.journal import Journal, Operation, OperationState
from register_agent.journal.kinds import CREDIT_RECEPTION, REFUND
from register_agent.loyalty import CustomerRef

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
    ref = CustomerRef(key=str(customer["key"]), card=customer.get("card"))
    reception_id = str(result["reception_id"])
    earned = int(result.get("credits") or 0)
    earlier = await _earlier_refunds(journal, refund, original)
    sale_amount = money(original.payload.get("amount"))
    refunded = sum((money(op.result["amount"]) for op in earlier if op.result), Decimal(0))
    taken = sum(-int(op.result["credits"]) for op in earlier if op.result)
    asked = refund.payload.get("amount")
    amount = _refund_amount(asked, sale_amount - refunded)
    if asked is None and not earlier:
        return RefundPlan("reverse", ref, reception_id, max(0, earned), amount)
    credits = credits_to_take_back(earned, taken, (refunded + amount) / sale_amount)
    return RefundPlan("credits", ref, reception_id, credits, amount)


def credits_to_take_back(earned: int, taken: int, refunded_share: Decimal) -> int:
    """Credits to take back now: the refunded share of what the sale earned, less what
    earlier parts took back. Half a credit rounds up (ROUND_HALF_UP); the share is counted
    over all parts, so the parts add up to exactly what the sale earned."""
    due = (earned * refunded_share).to_integral_value(rounding=ROUND_HALF_UP)
    return min(max(0, int(due) - taken), max(0, earned - taken))


def money(value: object) -> Decimal:
    """An amount from a payload; a malformed one is refused (dead), not retried."""
    try:
        amount = Decimal(str(value))
    except ArithmeticError as exc:
        raise _refused(f"the amount {value!r} is not a decimal number") from exc
    if not amount.is_finite():
        raise _refused(f"the amount {value!r} is not a decimal number")
    return amount


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
    if original.state is OperationState.EXPORTED:
        raise _refused(
            f"the sale's credits ({original.id}) were moved to a replacement till "
            "(register-agent export); refund the sale there"
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
        if op.state is OperationState.DONE and not {"amount", "credits"} <= set(op.result or {}):
            # e.g. resolved by hand from review: what it took back is not recorded
            raise _refused(
                f"what the earlier refund {op.id} of this sale took back is not recorded; "
                "take these credits back in the Business Dashboard"
            )
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
    amount = money(asked)
    if amount <= 0 or amount > left:
        raise _refused(f"a refund of {amount} does not fit what is left of the sale ({left})")
    return amount
