"""The outbox's "settled" signal: a wait wakes when the outbox moves an operation on, a
move told before the wait began is not missed, and a wait that hears nothing ends on time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import pytest

from register_agent.journal import Operation, OperationState
from register_agent.outbox.settled import Settled, finished
from tests.support.printing_support import NOW, credit_operation

T = TypeVar("T")
pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

#: a wait that would last an hour: it can only end because it was told, or the test hangs
HOUR = 3600.0


def moved(operation_id: str, state: OperationState) -> Operation:
    new = credit_operation("4711")
    return Operation(
        seq=1,
        id=operation_id,
        sale_id="4711",
        kind=new.kind,
        customer_key=new.customer_key,
        payload=new.payload,
        state=state,
        attempts=1,
        next_attempt_at=NOW,
        last_error=None,
        server_ref=None,
        result=None,
        created_at=NOW,
        updated_at=NOW,
    )


async def test_a_wait_wakes_when_the_outbox_moves_the_operation_on() -> None:
    settled = Settled()

    told: list[str] = []

    async def outbox() -> None:
        await asyncio.sleep(0.1)
        told.append("other")
        settled.notify(moved("other", OperationState.DONE))  # not the one waited for
        await asyncio.sleep(0.1)
        told.append("op-1")
        settled.notify(moved("op-1", OperationState.PENDING))  # its attempt failed

    delivering = asyncio.create_task(outbox())
    assert await settled.wait(["op-1"], HOUR)  # woken: an hour's wait ends only so
    assert told == ["other", "op-1"]  # not by the other operation's move
    await delivering


async def test_a_move_told_before_the_wait_is_not_missed() -> None:
    settled = Settled()
    settled.notify(moved("op-1", OperationState.DONE))
    # nothing will tell op-1 again: an hour's wait ends at once or never
    assert await asyncio.wait_for(settled.wait(["op-0", "op-1"], HOUR), 30)
    assert await settled.wait(["op-1"], 0.0)  # no time to wait: the memory answers


async def test_a_wait_for_the_end_ignores_a_retry_and_ends_on_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settled = Settled()
    settled.notify(moved("op-1", OperationState.PENDING))
    asked: list[float] = []  # how long the wait asked the loop to sleep, each time
    wait_for = asyncio.wait_for

    async def recorded(awaitable: Awaitable[T], timeout: float) -> T:
        asked.append(timeout)
        return await wait_for(awaitable, timeout)

    monkeypatch.setattr(asyncio, "wait_for", recorded)  # the one settled.py calls
    assert not await settled.wait(["op-1"], 0.2, until=finished)  # False: it ran out
    monkeypatch.undo()
    assert asked  # it did wait
    assert all(0 < seconds <= 0.2 for seconds in asked)  # never past its end
    assert not await settled.wait(["never-told"], 0.0)

    async def reviewed() -> None:
        await asyncio.sleep(0.05)
        settled.notify(moved("op-1", OperationState.REVIEW))

    reviewing = asyncio.create_task(reviewed())
    assert await settled.wait(["op-1"], 5.0, until=finished)
    await reviewing


async def test_only_the_latest_operations_are_remembered_and_waiters_are_forgotten() -> None:
    settled = Settled(remembered=2)
    for number in range(3):
        settled.notify(moved(f"op-{number}", OperationState.DONE))
    assert not await settled.wait(["op-0"], 0.0)
    assert await settled.wait(["op-1", "op-2"], 0.0)
    assert not await settled.wait(["op-3"], 0.01)
    assert settled._waiting == {}
