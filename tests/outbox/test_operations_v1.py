"""A sale's credits on Register API v1 through the real outbox and handlers to the sandbox:
members behind loyalty cards, staged receptions for sales without a card, and review when
nothing can tell whether a credit reception landed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from register_agent.journal import OperationState
from register_agent.outbox.handlers import REFUND
from tests.conftest import Sandbox
from tests.support.operations_support import (
    CREDIT_RECEPTIONS,
    JAN_CARD,
    JAN_CARD_V1,
    JAN_V1,
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
STAGED = r"/api/v1/register/staged-credit-receptions$"


@pytest.fixture
async def till(tmp_path: Path, sandbox_clean: Sandbox) -> AsyncIterator[Till]:
    async with till_on(tmp_path, sandbox_clean, "v1") as till:
        yield till


async def test_a_sale_is_credited_once_by_card(till: Till) -> None:
    op_id = await till.sell("12.50", customer=JAN_V1, card=JAN_CARD_V1)
    await till.deliver()
    done = await till.op(op_id)
    (row,) = till.rows("credit_reception")
    assert (row["credits"], row["card"], row["member"]["id"]) == (12, JAN_CARD, 7731)
    assert done.state is OperationState.DONE
    assert stored(done.result) == {
        "reception_id": str(row["id"]),
        "credits": 12,
        "balance": 162,
        "customer": {"key": JAN_V1, "card": "…" + JAN_CARD_V1[-4:]},  # cut once done
    }


async def test_a_card_scanned_offline_is_resolved_to_the_member(till: Till) -> None:
    op_id = await till.sell("5.00", card=JAN_CARD)
    await till.deliver()
    done = await till.op(op_id)
    assert done.state is OperationState.DONE
    assert stored(done.payload)["customer"] == {"key": JAN_V1, "card": "…" + JAN_CARD_V1[-4:]}
    assert [row["credits"] for row in till.rows("credit_reception")] == [5]


async def test_an_unregistered_card_is_dead(till: Till) -> None:
    op_id = await till.sell("5.00", card=UNREGISTERED_CARD)
    await till.deliver()
    dead = await till.op(op_id)
    assert dead.state is OperationState.DEAD
    assert "not registered" in (dead.last_error or "")
    assert till.sandbox.ledger() == []


@pytest.mark.parametrize("mode", ["drop_after_commit", "in_progress_60001"])
async def test_an_unknown_outcome_goes_to_review_never_sent_again(till: Till, mode: str) -> None:
    till.sandbox.set_fault(mode=mode, count=1, paths=[CREDIT_RECEPTIONS])
    op_id = await till.sell("12.50", customer=JAN_V1, card=JAN_CARD_V1)
    await till.deliver()
    review = await till.op(op_id)
    assert (review.state, review.attempts) == (OperationState.REVIEW, 1)
    landed = 1 if mode == "drop_after_commit" else 0
    assert len(till.rows("credit_reception")) == landed


async def test_a_sale_without_a_card_gets_a_claimable_staged_reception(till: Till) -> None:
    op_id = await till.sell("8.75")
    await till.deliver()
    done = await till.op(op_id)
    assert done.state is OperationState.DONE
    assert done.result is not None
    (staged,) = till.rows("staged_credit_reception")
    assert stored(done.result) == {
        "url": staged["url"],
        "reference": str(staged["id"]),
        "credits": 8,
    }
    claimed = till.sandbox.claim(stored(done.result)["url"], 7732)
    assert claimed.json()["data"]["credits"] == 8


async def test_a_dropped_staged_reception_is_created_again(till: Till) -> None:
    till.sandbox.set_fault(mode="drop_after_commit", count=1, paths=[STAGED])
    op_id = await till.sell("8.75")
    await till.outbox.drain_once()
    assert (await till.op(op_id)).state is OperationState.UNKNOWN
    await till.deliver()
    done = await till.op(op_id)
    assert done.state is OperationState.DONE
    assert done.result is not None
    lost, printed = till.rows("staged_credit_reception")
    assert stored(done.result)["url"] == printed["url"] != lost["url"]
    # only the printed one is ever claimed; the lost one, never printed, awards nothing
    assert till.sandbox.claim(stored(done.result)["url"], 7732).json()["data"]["credits"] == 8


async def test_a_refund_on_v1_is_dead_with_the_reason(till: Till) -> None:
    sale = await till.sell("10.00", customer=JAN_V1, card=JAN_CARD_V1)
    await till.deliver()
    sale_id = stored((await till.op(sale)).payload)["sale_id"]
    payload = {"sale_id": sale_id, "original_operation": sale, "amount": None}
    refund = await till.queue(REFUND, f"customer:{JAN_V1}", payload, sale_id)
    await till.deliver()
    dead = await till.op(refund)
    assert dead.state is OperationState.DEAD
    assert "v1 has no reverse" in (dead.last_error or "")
    assert len(till.rows("credit_reception")) == 1
