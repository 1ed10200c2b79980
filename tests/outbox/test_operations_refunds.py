"""Refunds and voided reward claims through the real outbox and handlers to the sandbox
(v3): a whole refund reverses the sale's credits, a part takes back its share, and a lost
answer is reconciled without taking anything back twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from register_agent.journal import OperationState
from register_agent.loyalty import CustomerRef
from register_agent.outbox.handlers import REFUND, REVERSE_CLAIM
from tests.conftest import Sandbox
from tests.support.operations_support import (
    COFFEE_V3,
    CREDIT_RECEPTIONS,
    JAN_CARD,
    JAN_V3,
    UNREGISTERED_CARD,
    Till,
    till_on,
)
from tests.support.stored import stored

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.timeout(30),
    pytest.mark.usefixtures("no_retry_waits"),
]
JAN_KEY = f"customer:{JAN_V3}"
POS_TRANSACTIONS = r"/api/v3/register/pos-transactions$"
REVERSE = r"/api/v3/register/(credit|reward)-receptions/[^/]+/reverse$"


@pytest.fixture
async def till(tmp_path: Path, sandbox_clean: Sandbox) -> AsyncIterator[Till]:
    async with till_on(tmp_path, sandbox_clean, "v3") as till:
        yield till


async def sold(till: Till, amount: str) -> tuple[str, str]:
    """A sale for Jan, delivered; its operation id and sale id."""
    op_id = await till.sell(amount, customer=JAN_V3, card=JAN_CARD)
    await till.deliver()
    sale = await till.op(op_id)
    assert sale.state is OperationState.DONE
    return op_id, stored(sale.payload)["sale_id"]


async def refund(till: Till, sale: tuple[str, str], amount: str | None) -> str:
    op_id, sale_id = sale
    payload = {"sale_id": sale_id, "original_operation": op_id, "amount": amount}
    return await till.queue(REFUND, JAN_KEY, payload, sale_id)


async def result_of(till: Till, op_id: str) -> dict[str, Any]:
    operation = await till.op(op_id)
    assert operation.state is OperationState.DONE, operation.last_error
    assert operation.result is not None
    return stored(operation.result)


async def test_a_whole_refund_reverses_the_sales_credits(till: Till) -> None:
    sale = await sold(till, "12.50")
    op_id = await refund(till, sale, None)
    await till.deliver()
    (reception,) = till.rows("credit_reception")
    (reverse,) = till.rows("reverse_credit_reception")
    assert (reverse["reverses"], reverse["credits"]) == (reception["uuid"], -12)
    assert await result_of(till, op_id) == {
        "reception_id": reverse["uuid"],
        "credits": -12,
        "balance": 150,
        "amount": "12.50",
    }


async def test_parts_take_back_their_share_and_add_up_to_the_whole(till: Till) -> None:
    sale = await sold(till, "10.00")
    first = await refund(till, sale, "2.50")  # 2.5 credits: half a credit rounds up
    second = await refund(till, sale, "7.50")  # the rest: exactly what is left
    await till.deliver()
    taken = till.rows("credit_reception")[1:]
    assert [row["credits"] for row in taken] == [-3, -7]
    assert [row["attributes"]["agent_operation_id"] for row in taken] == [first, second]
    assert (await result_of(till, second))["balance"] == 150
    assert till.rows("reverse_credit_reception") == []


async def test_a_whole_refund_after_a_part_takes_only_the_rest(till: Till) -> None:
    sale = await sold(till, "10.00")
    await refund(till, sale, "4.00")
    rest = await refund(till, sale, None)
    await till.deliver()
    assert [row["credits"] for row in till.rows("credit_reception")] == [10, -4, -6]
    assert (await result_of(till, rest))["amount"] == "6.00"


async def test_a_refund_beyond_the_sale_is_dead(till: Till) -> None:
    sale = await sold(till, "10.00")
    whole = await refund(till, sale, None)
    again = await refund(till, sale, "1.00")
    await till.deliver()
    assert (await till.op(whole)).state is OperationState.DONE
    dead = await till.op(again)
    assert dead.state is OperationState.DEAD
    assert "refunded in full" in (dead.last_error or "")
    assert len(till.rows("reverse_credit_reception")) == 1


async def test_a_refund_of_credits_never_awarded_is_dead(till: Till) -> None:
    sale_op = await till.sell("5.00", card=UNREGISTERED_CARD)
    await till.deliver()
    sale_id = stored((await till.op(sale_op)).payload)["sale_id"]
    payload = {"sale_id": sale_id, "original_operation": sale_op, "amount": None}
    op_id = await till.queue(REFUND, f"card:{UNREGISTERED_CARD}", payload, sale_id)
    await till.deliver()
    dead = await till.op(op_id)
    assert dead.state is OperationState.DEAD
    assert "never awarded" in (dead.last_error or "")
    assert till.sandbox.ledger() == []


async def test_a_refund_waits_for_the_sales_credits(till: Till) -> None:
    till.sandbox.set_fault(mode="error_503", paths=[CREDIT_RECEPTIONS])
    sale_op = await till.sell("6.00", customer=JAN_V3, card=JAN_CARD)
    await till.outbox.drain_once()
    sale_id = stored((await till.op(sale_op)).payload)["sale_id"]
    op_id = await refund(till, (sale_op, sale_id), None)
    await till.outbox.drain_once()
    assert (await till.op(op_id)).attempts == 0  # held behind the sale, not tried
    till.sandbox.clear_faults()
    await till.deliver()
    assert (await result_of(till, op_id))["credits"] == -6
    kinds = [row["kind"] for row in till.sandbox.ledger() if "credit" in row["kind"]]
    assert kinds == ["credit_reception", "reverse_credit_reception"]


async def test_a_lost_reverse_is_reconciled_not_repeated(till: Till) -> None:
    sale = await sold(till, "12.50")
    till.sandbox.set_fault(mode="drop_after_commit", count=1, paths=[REVERSE])
    op_id = await refund(till, sale, None)
    await till.outbox.drain_once()
    assert (await till.op(op_id)).state is OperationState.UNKNOWN
    await till.deliver()
    (reverse,) = till.rows("reverse_credit_reception")
    result = await result_of(till, op_id)
    assert (result["reception_id"], result["credits"]) == (reverse["uuid"], -12)
    assert (await till.op(op_id)).attempts == 1


async def test_a_lost_partial_refund_is_settled_by_its_own_pos_transaction(till: Till) -> None:
    sale = await sold(till, "10.00")
    till.sandbox.set_fault(mode="drop_after_commit", count=1, paths=[CREDIT_RECEPTIONS])
    op_id = await refund(till, sale, "5.00")
    await till.deliver()
    taken = till.rows("credit_reception")[1:]
    assert [row["credits"] for row in taken] == [-5]
    # sent again under the refund's own POS transaction, answered 6001: done with the
    # credits it sent (explicit credits), its reception id unknown
    result = await result_of(till, op_id)
    assert (result["reception_id"], result["credits"], result["balance"]) == (None, -5, 155)
    assert len(till.rows("pos_transaction")) == 2  # the sale's and the refund's


async def test_a_part_refund_the_api_gives_no_pos_transaction_goes_to_review(till: Till) -> None:
    sale = await sold(till, "10.00")
    till.sandbox.set_fault(mode="error_1003", count=1, paths=[POS_TRANSACTIONS])
    till.sandbox.set_fault(mode="drop_after_commit", count=1, paths=[CREDIT_RECEPTIONS])
    op_id = await refund(till, sale, "5.00")
    await till.deliver()
    # sent unguarded and its answer lost: a person decides, nothing is sent again
    assert [row["credits"] for row in till.rows("credit_reception")[1:]] == [-5]
    assert (await till.op(op_id)).state is OperationState.REVIEW


async def test_a_part_refund_an_older_agent_left_in_flight_unguarded_goes_to_review(
    till: Till,
) -> None:
    """Planned and in flight without a POS transaction, as an agent before the refunds'
    own POS transactions left it: its credits may have gone out, so a person decides;
    only what this agent planned itself is known not to have sent them yet."""
    sale = await sold(till, "10.00")
    op_id, sale_id = sale
    reception = (await till.op(op_id)).server_ref
    plan = {
        "method": "credits",
        "customer": {"key": JAN_V3, "card": JAN_CARD},
        "reception_id": reception,
        "credits": 5,
        "amount": "5.00",
    }
    payload = {"sale_id": sale_id, "original_operation": op_id, "amount": "5.00", "plan": plan}
    refund_id = await till.queue(REFUND, JAN_KEY, payload, sale_id)
    now = till.clock.now
    await till.journal.move(refund_id, OperationState.PENDING, OperationState.IN_FLIGHT, now=now)
    await till.journal.move(refund_id, OperationState.IN_FLIGHT, OperationState.UNKNOWN, now=now)
    await till.deliver()
    assert (await till.op(refund_id)).state is OperationState.REVIEW
    assert [row["credits"] for row in till.rows("credit_reception")[1:]] == []


async def claimed_coffee(till: Till) -> str:
    claim = await till.loyalty.claim_reward(CustomerRef(key=JAN_V3, card=JAN_CARD), COFFEE_V3)
    payload = {"claim_id": "pos-claim-1", "server_claim_id": claim.claim_id}
    return await till.queue(REVERSE_CLAIM, JAN_KEY, payload, "R-void")


async def voided_sale(till: Till) -> None:
    await till.sell("1.00", customer=JAN_V3, card=JAN_CARD, sale_id="R-void")


async def test_a_voided_sales_reward_claim_gives_the_credits_back(till: Till) -> None:
    await voided_sale(till)
    op_id = await claimed_coffee(till)
    await till.deliver()
    (claim,) = till.rows("reward_reception")
    (reverse,) = till.rows("reverse_reward_reception")
    assert (reverse["reverses"], reverse["credits"]) == (claim["uuid"], 50)
    result = await result_of(till, op_id)
    assert (result["reception_id"], result["credits"]) == (reverse["uuid"], 50)
    assert result["balance"] == 151


async def test_a_lost_reverse_of_a_claim_is_reconciled(till: Till) -> None:
    await voided_sale(till)
    till.sandbox.set_fault(mode="drop_after_commit", count=1, paths=[REVERSE])
    op_id = await claimed_coffee(till)
    await till.deliver()
    (reverse,) = till.rows("reverse_reward_reception")
    result = await result_of(till, op_id)
    assert result["reception_id"] == reverse["uuid"]
    assert (await till.op(op_id)).attempts == 1


async def test_a_refund_queued_under_another_key_still_waits_for_the_sale(till: Till) -> None:
    # the journal's order per customer is the first guard; this is the second one
    till.sandbox.set_fault(mode="error_503", paths=[CREDIT_RECEPTIONS])
    sale_op = await till.sell("6.00", customer=JAN_V3, card=JAN_CARD)
    await till.outbox.drain_once()
    sale_id = stored((await till.op(sale_op)).payload)["sale_id"]
    payload = {"sale_id": sale_id, "original_operation": sale_op, "amount": None}
    op_id = await till.queue(REFUND, None, payload, sale_id)
    await till.outbox.drain_once()
    waiting = await till.op(op_id)
    assert (waiting.state, waiting.attempts) == (OperationState.PENDING, 1)
    assert "not delivered yet" in (waiting.last_error or "")
    assert "plan" not in stored(waiting.payload)
    till.sandbox.clear_faults()
    await till.deliver()
    assert (await result_of(till, op_id))["credits"] == -6


async def test_another_sales_reverse_is_not_taken_for_this_one(till: Till) -> None:
    # two sales of the same amount, both refunded; the second reverse fails before it is
    # applied (a 500): the first one's counter-entry has the same shape, yet it is not ours
    first, second = await sold(till, "12.50"), await sold(till, "12.50")
    await refund(till, first, None)
    await till.deliver()
    till.sandbox.set_fault(mode="error_500", count=1, paths=[REVERSE])
    op_id = await refund(till, second, None)
    await till.outbox.drain_once()
    assert (await till.op(op_id)).state is OperationState.UNKNOWN
    await till.deliver()
    receptions = [row["uuid"] for row in till.rows("credit_reception")]
    reverses = [row["reverses"] for row in till.rows("reverse_credit_reception")]
    assert reverses == receptions
    assert (await till.op(op_id)).attempts == 2
