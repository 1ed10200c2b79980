"""The ``reward_claim`` handler against the sandbox (v3) with the real journal: a lost
claim is told by the contact's reward receptions; one not found is looked for again while
it may still land, and taken as not landed once that time has passed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from register_agent.journal import ClaimRecord, ClaimState, Journal, Operation, OperationState
from register_agent.journal.results import RewardClaimResult
from register_agent.outbox.claims import SETTLE_AFTER_S, RewardClaimHandler
from register_agent.outbox.contract import Delivered, Reconciled
from tests.conftest import Sandbox
from tests.support.operations_support import JAN_V3, loyalty_for

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_retry_waits")]

COFFEE = "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
STARTED = 1_800_000_000.0  # when the claim's request left, on the till's clock


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    opened = Journal.open(tmp_path / "journal.sqlite3")
    yield opened
    opened.close()


async def lost_claim(journal: Journal, started_at: float) -> Operation:
    customer = f"customer:{JAN_V3}"
    state = ClaimState.IN_FLIGHT
    record = ClaimRecord("C-1", "digest", None, customer, COFFEE, state, None, None, 0.0, 0.0)
    record = replace(record, created_at=started_at, updated_at=started_at)
    stored = await journal.start_claim(record)
    await journal.claim_lost(stored, started_at + 1, look_at=started_at + 1)
    (operation,) = await journal.operations_in(OperationState.UNKNOWN)
    return operation


async def test_a_claim_not_found_is_looked_for_again_then_taken_as_not_landed(
    journal: Journal, sandbox_clean: Sandbox
) -> None:
    loyalty = loyalty_for(sandbox_clean, "v3")
    now = [STARTED + 5]
    handler = RewardClaimHandler(loyalty, journal, clock=lambda: now[0])
    try:
        operation = await lost_claim(journal, STARTED)
        assert await handler.reconcile(operation) is Reconciled.NOT_YET
        now[0] = STARTED + SETTLE_AFTER_S + 1
        assert await handler.reconcile(operation) is Reconciled.NOT_APPLIED
    finally:
        await loyalty.aclose()


async def test_a_claim_found_once_is_ours_and_the_row_answers_it(
    journal: Journal, sandbox_clean: Sandbox, v3: httpx.Client
) -> None:
    loyalty = loyalty_for(sandbox_clean, "v3")
    handler = RewardClaimHandler(loyalty, journal)
    try:
        started = time.time()
        made = v3.post("/reward-receptions", data={"contact_uuid": JAN_V3, "reward_uuid": COFFEE})
        made.raise_for_status()  # the claim landed; its answer is what was lost
        operation = await lost_claim(journal, started)
        found = await handler.reconcile(operation)
        assert isinstance(found, Delivered)
        assert isinstance(found.result, RewardClaimResult)
        assert (found.result.applied, found.result.credits) == (True, -50)
        done = OperationState.DONE
        await journal.move(
            operation.id, OperationState.UNKNOWN, done, now=started, result=found.result
        )
        row = await journal.reward_claim("C-1")
        assert row is not None
        assert row.state is ClaimState.DONE
        assert row.result is not None
        assert (row.result["title"], row.result["credits"]) == ("Free coffee", -50)
        assert (await journal.claim_figures()).settled == 1
    finally:
        await loyalty.aclose()


async def test_a_lost_claim_never_takes_the_reception_of_one_still_waiting_for_its_answer(
    journal: Journal, sandbox_clean: Sandbox, v3: httpx.Client
) -> None:
    """Two coffees claimed for Jan side by side: the first landed and its answer is still
    on its way; the second was lost before the server. The reception found belongs to the
    first, so the second waits until the first's answer is in, and then finds nothing."""
    loyalty = loyalty_for(sandbox_clean, "v3")
    now = [time.time()]
    handler = RewardClaimHandler(loyalty, journal, clock=lambda: now[0], settle_after_s=5)
    try:
        started = now[0]
        customer = f"customer:{JAN_V3}"
        state = ClaimState.IN_FLIGHT
        first = ClaimRecord("C-A", "digest", None, customer, COFFEE, state, None, None, 0.0, 0.0)
        await journal.start_claim(replace(first, created_at=started, updated_at=started))
        made = v3.post("/reward-receptions", data={"contact_uuid": JAN_V3, "reward_uuid": COFFEE})
        made.raise_for_status()  # the first claim's request landed; its answer not yet in
        lost = await lost_claim(journal, started)  # C-1: lost before the server

        assert await handler.reconcile(lost) is Reconciled.NOT_YET

        reception = made.json()["data"]["uuid"]
        await journal.finish_claim("C-A", ClaimState.DONE, started + 1, server_ref=reception)
        assert await handler.reconcile(lost) is Reconciled.NOT_YET  # may still land
        now[0] = started + 6
        assert await handler.reconcile(lost) is Reconciled.NOT_APPLIED
    finally:
        await loyalty.aclose()
