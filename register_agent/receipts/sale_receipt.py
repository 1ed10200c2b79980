"""A sale's receipt, composed from the journal's rows: the sale's lines and total as the
POS sent them, and its loyalty part as ``sale_outcome`` decides it (the same outcome the
POS's answer carries). The printer worker (``receipts/printer_worker.py``) prints it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from register_agent.common.money import NotAnAmount, parse_amount, to_euros
from register_agent.config import TillConfig
from register_agent.journal import Operation, PrintJob, SaleRecord
from register_agent.journal.kinds import CREDIT_RECEPTION, STAGED_CREDIT_RECEPTION
from register_agent.receipts.layout import Receipt, SaleLine
from register_agent.receipts.sale_outcome import Answered, Said, SaleOutcome, sale_outcome
from register_agent.receipts.slip_times import copy_and_times
from register_agent.receipts.welcome import welcome_receipt

#: operations whose outcome the receipt shows (a refund's does not belong on the sale's slip)
RECEIPT_KINDS = (CREDIT_RECEPTION, STAGED_CREDIT_RECEPTION)


def compose_receipt(
    sale: SaleRecord, operations: Sequence[Operation], job: PrintJob, till: TillConfig
) -> Receipt:
    """What the slip of ``job`` says, from the sale and its operations as they are now.

    The loyalty part is ``sale_outcome``'s: credits and balance once credited, "points
    will be added" while on their way, the QR (the v1 staged reception's URL or the v3
    token's), or plainly no QR. It needs no clock: the bounded wait for the credits is the
    worker's, done before it is called.
    """
    welcome = welcome_receipt(sale, job)
    if welcome is not None:  # a card handed out at the counter, not a sale
        return welcome
    loyalty: Mapping[str, Any] = sale.answer.get("loyalty") or {}
    outcome = sale_outcome(
        Answered.from_stored(loyalty),
        _last(operations, CREDIT_RECEPTION),
        _last(operations, STAGED_CREDIT_RECEPTION),
    )
    slip = till.prints == "loyalty_slip"
    return Receipt(
        sale_id=sale.sale_id,
        # a loyalty slip leaves the sale itself to the POS's own receipt; its id stays, so
        # the slip can be matched to the sale (and reprinted by it)
        lines=() if slip else _lines(sale.request),
        total=None if slip else _total(sale),
        customer_lines=_customer_lines(loyalty),
        **copy_and_times(sale, job),
        **_loyalty_fields(outcome),
    )


def says_loyalty(receipt: Receipt) -> bool:
    """Whether ``receipt`` has a loyalty part (credits, points to follow, a QR, or why not)."""
    return (
        receipt.credits_earned is not None
        or receipt.new_balance is not None
        or receipt.points_pending
        or receipt.qr_url is not None
        or receipt.qr_unavailable
    )


def _loyalty_fields(outcome: SaleOutcome) -> dict[str, Any]:
    """The receipt's loyalty fields for ``outcome`` (the credits of a QR are the
    customer's to collect: the slip does not print them)."""
    if outcome.said is Said.CREDITED:
        return {"credits_earned": outcome.credits, "new_balance": outcome.balance}
    if outcome.said is Said.PENDING:
        return {"points_pending": True}
    if outcome.said is Said.QR:
        return {"qr_url": outcome.qr_url}
    if outcome.said is Said.NO_QR:
        return {"qr_unavailable": True}
    return {}


def _customer_lines(loyalty: Mapping[str, Any]) -> tuple[str, ...]:
    """The attribute lines as the sale's answer stored them: a reprint prints the same,
    whatever the config says by then."""
    lines = loyalty.get("customer_lines") or ()
    return tuple(line for line in lines if isinstance(line, str))


def _last(operations: Sequence[Operation], kind: str) -> Operation | None:
    found = [operation for operation in operations if operation.kind == kind]
    return found[-1] if found else None


def _lines(request: Mapping[str, Any]) -> tuple[SaleLine, ...]:
    lines = request.get("lines") or ()
    return tuple(
        SaleLine(str(line.get("text", "")), _decimal(line.get("amount")))
        for line in lines
        if isinstance(line, Mapping)
    )


def _total(sale: SaleRecord) -> Decimal:
    amount = _decimal(sale.request.get("amount"))
    return amount if amount is not None else to_euros(sale.amount_cents)


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, float):
        return None
    try:
        return parse_amount(value)
    except NotAnAmount:
        return None
