"""Sales as the till writes them into the journal, for the printer worker's tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from register_agent.counter.messages import LoyaltyBlock, SaleAnswer, SaleLineIn, SaleRequest
from register_agent.journal import Journal, NewOperation, Operation, OperationState, SaleRecord
from register_agent.journal.payloads import (
    CreditReceptionPayload,
    StagedCreditPayload,
    StoredCustomer,
)
from tests.support.stored import as_result

NOW = 1_800_000_000.0
TOKEN_URL = "https://loyalty.piggy.eu/t/6f1c2a94-5c2e-4a8e-9d0b-1f2e3d4c5b6a"
STAGED_URL = "https://loyalty.piggy.eu/c/staged-0f3a9c"
LINES = (
    SaleLineIn(text="Café crème", amount=Decimal("3.50")),
    SaleLineIn(text="Appeltaart", amount=Decimal("9.00")),
)


def sale_record(
    sale_id: str,
    loyalty: LoyaltyBlock,
    *,
    customer_key: str | None = None,
    created_at: float = NOW,
) -> SaleRecord:
    """A sale of EUR 12.50 with two lines, its request and answer as the till stores them."""
    request = SaleRequest(sale_id=sale_id, amount=Decimal("12.50"), lines=LINES)
    answer = SaleAnswer(sale_id=sale_id, loyalty=loyalty, receipt="printing")
    return SaleRecord(
        sale_id=sale_id,
        request_digest=f"digest-{sale_id}",
        amount_cents=1250,
        currency="EUR",
        customer_key=customer_key,
        answer=answer.model_dump(mode="json"),
        state="paid",
        created_at=created_at,
        request=request.model_dump(mode="json"),
    )


def credit_operation(sale_id: str) -> NewOperation:
    payload = CreditReceptionPayload(
        sale_id=sale_id,
        amount="12.50",
        customer=StoredCustomer(key="7731", card="A1B2C3D4"),
        card="A1B2C3D4",
        pos_transaction=None,
    )
    return NewOperation(f"op-{sale_id}", "credit_reception", "customer:7731", payload)


def staged_operation(sale_id: str) -> NewOperation:
    payload = StagedCreditPayload(sale_id=sale_id, amount="12.50")
    return NewOperation(f"op-{sale_id}", "staged_credit_reception", None, payload)


def operation(
    new: NewOperation, state: OperationState, result: dict[str, Any] | None = None
) -> Operation:
    """``new`` as the journal would hand it back in ``state``, with its result (as stored)."""
    return Operation(
        seq=1,
        id=new.id,
        sale_id="4711",
        kind=new.kind,
        customer_key=new.customer_key,
        payload=new.payload,
        state=state,
        attempts=1,
        next_attempt_at=NOW,
        last_error=None,
        server_ref=None,
        result=None if result is None else as_result(new.kind, result),
        created_at=NOW,
        updated_at=NOW,
    )


PENDING = LoyaltyBlock(state="pending", lines=("Your points will be added shortly.",))
V3_QR = LoyaltyBlock(state="qr", lines=("Scan to collect your points",), qr_url=TOKEN_URL)


async def record(
    journal: Journal,
    sale_id: str,
    loyalty: LoyaltyBlock,
    operations: tuple[NewOperation, ...] = (),
    *,
    created_at: float = NOW,
) -> SaleRecord:
    customer = operations[0].customer_key if operations else None
    sale = sale_record(sale_id, loyalty, customer_key=customer, created_at=created_at)
    stored, created = await journal.record_sale(sale, operations, print_receipt=True)
    assert created
    return stored


async def finish(journal: Journal, operation_id: str, result: dict[str, Any]) -> Operation:
    """The outbox's moves for an operation that was delivered (``result`` as stored)."""
    sent = await journal.move(
        operation_id, OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW
    )
    return await journal.move(
        operation_id,
        OperationState.IN_FLIGHT,
        OperationState.DONE,
        now=NOW,
        result=as_result(sent.kind, result),
    )
