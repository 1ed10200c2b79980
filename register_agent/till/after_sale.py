"""After the sale: refunds and voids queue reversals behind the sale's original credit, and
a reprint queues a copy of its receipt; the ``Till`` hands the POS's requests to this desk.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from register_agent.common.money import to_cents, to_euros
from register_agent.config import TillConfig
from register_agent.counter.claims import RewardDesk
from register_agent.counter.messages import ActionAnswer, RefundRequest
from register_agent.errors import CounterRefusal
from register_agent.journal import Journal, NewOperation, OperationState, RefundRecord, SaleRecord
from register_agent.journal.kinds import (
    COLLECT_REWARD,
    CREDIT_RECEPTION,
    REFUND,
    REVERSE_COLLECTION,
)
from register_agent.journal.payloads import CollectionPayload, RefundPayload
from register_agent.loyalty.domain import LoyaltyService


class AfterSaleDesk:
    """Refunds, voids and reprints of a sale recorded on this till."""

    def __init__(
        self,
        journal: Journal,
        loyalty: LoyaltyService,
        rewards: RewardDesk,
        *,
        till: TillConfig,
        wake_outbox: Callable[[], None] = lambda: None,
        wake_printer: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._loyalty = loyalty
        self._rewards = rewards
        self._config = till
        self._wake_outbox = wake_outbox
        self._wake_printer = wake_printer
        self._clock = clock

    async def refund(self, sale_id: str, request: RefundRequest) -> ActionAnswer:
        """Take the sale's credits back, whole or in part, behind the original credit; once
        per refund id."""
        if request.refund_id is not None:
            kept = await self._journal.refund(request.refund_id)
            if kept is not None:  # a resend: the first answer, nothing queued again
                return _repeat(kept, sale_id, request)
        elif request.amount is not None:
            # A part refund leaves the sale open, so a resend (after a timeout, a restart)
            # would look like a second refund and take the credits back twice: without an
            # id of its own, no part refund can be made safe, so none is taken
            raise CounterRefusal(
                "refund_id_required",
                "a part refund needs its own refund_id (like a sale's sale_id), sent again "
                "unchanged when the refund is repeated; the refund was not taken",
                status=422,
            )
        sale = await self._sale(sale_id)
        amount = request.amount
        if amount is not None and amount > to_euros(sale.amount_cents):
            raise CounterRefusal(
                "refund_too_large", "the refund is larger than the sale", status=422
            )
        operations = await self._refund_operations(sale, amount)
        message = "credits will be taken back" if operations else "no loyalty credits to take back"
        answer = ActionAnswer(
            sale_id=sale_id, action="refund", message=message, refund_id=request.refund_id
        )
        record = None
        if request.refund_id is not None:
            record = RefundRecord(
                refund_id=request.refund_id,
                sale_id=sale_id,
                amount_cents=None if amount is None else to_cents(amount),
                answer=answer.model_dump(mode="json"),
                created_at=self._clock(),
            )
        stored, created = await self._journal.record_refund(
            sale_id, operations, record, closes_sale=amount is None, now=self._clock()
        )
        if not created and stored is not None:  # the same refund id, sent twice at once
            return _repeat(stored, sale_id, request)
        self._wake_outbox()
        return answer

    async def void(self, sale_id: str) -> ActionAnswer:
        """A voided sale gives back its credits, its reward claims (v3) and the rewards it
        collected (waiting to be collected again: their credits stay spent)."""
        sale = await self._sale(sale_id)
        operations = await self._refund_operations(sale, None)
        collected = await self._collections_back(sale_id)
        await self._journal.add_operations(sale_id, operations + collected, self._clock())
        queued = bool(operations)
        claims = await self._rewards.reverse_claims_of_sale(sale_id)
        await self._journal.set_sale_state(sale_id, "voided")
        self._wake_outbox()
        parts = (["credits"] if queued else []) + (["reward claims"] if claims else [])
        parts += ["collected rewards"] if collected else []
        message = " and ".join(parts) + " will be reversed" if parts else "nothing to reverse"
        return ActionAnswer(sale_id=sale_id, action="void", message=message)

    async def reprint(self, sale_id: str) -> ActionAnswer:
        await self._sale(sale_id)
        if self._config.prints == "pos":
            raise CounterRefusal(
                "printing_off", "this till's receipts are printed by the POS", status=409
            )
        job = await self._journal.add_reprint(sale_id, self._clock())
        self._wake_printer()
        # a receipt that never printed comes out as the original, not as a copy
        queued = f"copy {job.copy}" if job.copy else "the original receipt (never printed)"
        return ActionAnswer(
            sale_id=sale_id, action="reprint", message=f"{queued} queued for printing"
        )

    async def _sale(self, sale_id: str) -> SaleRecord:
        sale = await self._journal.sale(sale_id)
        if sale is None:
            raise CounterRefusal("unknown_sale", f"no sale {sale_id} on this till", status=404)
        if sale.state != "paid":
            raise CounterRefusal(
                "sale_closed", f"sale {sale_id} was already {sale.state}", status=409
            )
        return sale

    async def _collections_back(self, sale_id: str) -> list[NewOperation]:
        """A reverse for each reward the sale collects, queued behind its collection (the
        same customer key); none for a collection refused for good, which took nothing."""
        return [
            NewOperation(
                id=uuid.uuid4().hex,
                kind=REVERSE_COLLECTION,
                customer_key=op.customer_key,
                payload=CollectionPayload.model_validate(op.payload.to_json()),
            )
            for op in await self._journal.operations_of_sale(sale_id)
            if op.kind == COLLECT_REWARD and op.state != OperationState.DEAD
        ]

    async def _refund_operations(
        self, sale: SaleRecord, amount: Decimal | None
    ) -> list[NewOperation]:
        """The operation that takes back the sale's credits (``amount``: a part), queued
        behind its credit reception; none when the sale credited nobody."""
        credits = [
            op
            for op in await self._journal.operations_of_sale(sale.sale_id)
            if op.kind == CREDIT_RECEPTION
        ]
        if not credits:
            return []  # no customer: a QR receipt cannot be taken back
        if not self._loyalty.can_reverse:
            raise CounterRefusal(
                "refund_unsupported",
                "Register API v1 cannot take credits back; correct the customer's balance "
                "in the Piggy dashboard",
                status=409,
            )
        original = credits[0]
        refund = NewOperation(
            id=uuid.uuid4().hex,
            kind=REFUND,
            customer_key=original.customer_key,  # after the original, in order
            payload=RefundPayload(
                sale_id=sale.sale_id,
                original_operation=original.id,
                amount=None if amount is None else str(amount),
            ),
        )
        return [refund]


def _repeat(kept: RefundRecord, sale_id: str, request: RefundRequest) -> ActionAnswer:
    """The answer kept under a refund id, for a request that repeats it (compared in cents:
    "5" and "5.00" are the same refund)."""
    cents = None if request.amount is None else to_cents(request.amount)
    if (kept.sale_id, kept.amount_cents) != (sale_id, cents):
        raise CounterRefusal(
            "refund_conflict",
            f"refund {kept.refund_id} was already taken for another sale or amount; "
            "use a new refund_id for a new refund",
            status=409,
        )
    return ActionAnswer.model_validate(kept.answer)
