"""The POS's answer and the printed slip say the same thing about a sale's loyalty, in every
state of its credit reception or staged credit reception, whatever the sale's answer said
before: both come from ``receipts.sale_outcome``."""

from __future__ import annotations

import dataclasses

import pytest

from register_agent.config import TillConfig
from register_agent.counter.messages import CardNotice, CustomerView, LoyaltyBlock
from register_agent.journal import OperationState, PrintJob, PrintJobState
from register_agent.receipts.layout import Receipt
from register_agent.receipts.sale_receipt import compose_receipt
from register_agent.till.loyalty_block import settled_block
from tests.support.printing_support import (
    NOW,
    PENDING,
    STAGED_URL,
    credit_operation,
    operation,
    sale_record,
    staged_operation,
)

JOB = PrintJob(1, "4711", 0, PrintJobState.PENDING, 0, None, NOW, None)
CREDITED = {"reception_id": "r1", "credits": 12, "balance": 162, "customer": {"key": "7731"}}
STAGED = {"url": STAGED_URL, "reference": "s1", "credits": 12}
JAN = CustomerView(display="jan@example.org", balance=150)
UNREGISTERED = CardNotice(code="card_unregistered", message="hand it out")
#: the till's first answer: a credit reception for Jan, or a staged one for a card that
#: could not collect (v1)
FIRST = {
    "credit_reception": PENDING.model_copy(
        update={"customer": JAN, "customer_lines": ("Name: Jan",)}
    ),
    "staged_credit_reception": PENDING.model_copy(update={"notice": UNREGISTERED}),
}
NEW = {"credit_reception": credit_operation, "staged_credit_reception": staged_operation}
RESULTS = {"credit_reception": CREDITED, "staged_credit_reception": STAGED}
#: (state, with a result): done with no result is done by a person's review
STATES = [(state, False) for state in OperationState] + [(OperationState.DONE, True)]


def answer_says(block: LoyaltyBlock) -> tuple[object, ...]:
    """(credits, balance, points pending, QR url, no QR) as the POS's block says them."""
    credited = block.state == "credited"
    return (
        block.credits if credited else None,
        block.balance if credited else None,
        block.state == "pending",
        block.qr_url if block.state == "qr" else None,
        block.state == "none" and bool(block.lines),
    )


def slip_says(receipt: Receipt) -> tuple[object, ...]:
    """The same, as the slip prints them."""
    return (
        receipt.credits_earned,
        receipt.new_balance,
        receipt.points_pending,
        receipt.qr_url,
        receipt.qr_unavailable,
    )


@pytest.mark.parametrize("kind", sorted(NEW))
@pytest.mark.parametrize(("state", "with_result"), STATES, ids=str)
@pytest.mark.parametrize("earlier", ["no answer", "first answer", "final answer"])
def test_the_answer_and_the_slip_say_the_same(
    kind: str, state: OperationState, with_result: bool, earlier: str
) -> None:
    first = FIRST[kind]
    op = operation(NEW[kind]("4711"), state, RESULTS[kind] if with_result else None)
    block = settled_block(first, op, "en")
    assert (block.customer_lines, block.notice) == (first.customer_lines, first.notice)
    stored = {"first answer": first, "final answer": block}.get(earlier, PENDING)
    sale = sale_record("4711", stored)
    if earlier == "no answer":
        sale = dataclasses.replace(sale, answer={})
    receipt = compose_receipt(sale, [op], JOB, TillConfig())
    assert slip_says(receipt) == answer_says(block)
    told = slip_says(receipt)
    assert sum(1 for part in (told[0] is not None, *told[2:]) if part) <= 1  # one thing


@pytest.mark.parametrize(
    ("state", "with_result", "said"),
    [
        (OperationState.DONE, True, (12, 162, False, None, False)),
        (OperationState.DONE, False, (None, None, False, None, False)),
        (OperationState.DEAD, False, (None, None, False, None, False)),
        (OperationState.REVIEW, False, (None, None, True, None, False)),
        (OperationState.EXPORTED, False, (None, None, True, None, False)),
    ],
)
def test_a_credit_reception_says(
    state: OperationState, with_result: bool, said: tuple[object, ...]
) -> None:
    op = operation(credit_operation("4711"), state, CREDITED if with_result else None)
    block = settled_block(FIRST["credit_reception"], op, "en")
    assert answer_says(block) == said
    if said[1] is not None:  # the customer on the POS screen gets the new balance
        assert block.customer is not None
        assert block.customer.balance == said[1]


@pytest.mark.parametrize(
    ("state", "with_result", "said"),
    [
        (OperationState.DONE, True, (None, None, False, STAGED_URL, False)),
        (OperationState.DONE, False, (None, None, False, None, True)),
        (OperationState.PENDING, False, (None, None, False, None, True)),
        (OperationState.DEAD, False, (None, None, False, None, True)),
    ],
)
def test_a_staged_credit_reception_says(
    state: OperationState, with_result: bool, said: tuple[object, ...]
) -> None:
    op = operation(staged_operation("4711"), state, STAGED if with_result else None)
    block = settled_block(FIRST["staged_credit_reception"], op, "en")
    assert answer_says(block) == said
    # printed while the till still waits (its first answer said "pending"): no promise of
    # points beside the QR, or beside the word that there is none
    sale = sale_record("4711", FIRST["staged_credit_reception"])
    receipt = compose_receipt(sale, [op], JOB, TillConfig())
    assert not receipt.points_pending
