"""The outbox's backlog giving way to the till, in the worker on a real journal file: a
backlog delivery under way waits before its next step while the till answers somebody
else, and the slots such deliveries hold never keep a sale's own credits waiting
(``TillFirst`` alone: test_till_first.py; on a real agent: tests/e2e/test_e2e_till_first.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from register_agent.journal import Journal, NewOperation, Operation, OperationState, SaleRecord
from register_agent.journal.payloads import Payload
from register_agent.outbox.backoff import OutboxSettings
from register_agent.outbox.contract import Delivered, Progress
from register_agent.outbox.till_first import TillFirst
from register_agent.outbox.worker import Outbox

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]
NOW = 1_800_000_000.0


class HeldApi:
    """Answers every send, the backlog's customer's only once ``release`` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.sent: list[str] = []

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        self.sent.append(operation.id)
        if operation.customer_key == "card:backlog":
            await self.release.wait()
        return Delivered("ref-" + operation.id)

    async def reconcile(self, operation: Operation) -> Delivered:
        raise AssertionError("nothing here is unknown")


async def _record(journal: Journal, sale_id: str, customer: str) -> list[Operation]:
    record = SaleRecord(sale_id, "d", 1250, "EUR", customer, {}, "paid", NOW)
    operation = NewOperation(f"op-{sale_id}", "credit", customer, Payload.model_validate({}))
    _, _, first = await journal.record_sale_first_in_line(record, [operation], print_receipt=False)
    return first


async def _state(journal: Journal, operation_id: str) -> OperationState | None:
    operation = await journal.operation(operation_id)
    return None if operation is None else operation.state


async def _until(journal: Journal, operation_id: str, state: OperationState) -> None:
    for _ in range(300):
        if await _state(journal, operation_id) is state:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{operation_id} never became {state}")


@pytest.fixture
async def running(journal: Journal) -> AsyncIterator[tuple[Outbox, HeldApi, TillFirst]]:
    """An outbox with one slot, its backlog delivery for "card:backlog" sent and held."""
    api, first = HeldApi(), TillFirst()
    settings = OutboxSettings(concurrency=1, idle_poll_s=60)
    outbox = Outbox(journal, {"credit": api}, settings, clock=lambda: NOW, till_first=first)
    await _record(journal, "OLD", "card:backlog")
    task = asyncio.create_task(outbox.run())
    for _ in range(300):  # the till is quiet: the backlog starts with the whole room
        if api.sent == ["op-OLD"]:
            break
        await asyncio.sleep(0.01)
    assert api.sent == ["op-OLD"]
    yield outbox, api, first
    api.release.set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_backlog_delivery_under_way_waits_at_its_next_step_while_the_till_answers(
    journal: Journal, running: tuple[Outbox, HeldApi, TillFirst]
) -> None:
    _, api, first = running
    with first.serving():  # a scan at the counter
        api.release.set()  # the backlog's credits answered: its move to done is next
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert await _state(journal, "op-OLD") is OperationState.IN_FLIGHT
    await _until(journal, "op-OLD", OperationState.DONE)  # the answer ended: it goes on


async def test_a_sales_credits_start_though_the_backlog_holds_every_slot(
    journal: Journal, running: tuple[Outbox, HeldApi, TillFirst]
) -> None:
    outbox, api, first = running
    with first.serving("S") as turn:
        mine = await _record(journal, "S", "card:at-the-counter")
        turn.recorded_for("card:at-the-counter")
        assert outbox.offer(mine)  # beyond the one slot, which the backlog holds
        await _until(journal, "op-S", OperationState.DONE)
    assert await _state(journal, "op-OLD") is OperationState.IN_FLIGHT
    api.release.set()
    await _until(journal, "op-OLD", OperationState.DONE)


async def test_a_stopping_outbox_lets_its_backlog_delivery_end_within_the_grace(
    journal: Journal, running: tuple[Outbox, HeldApi, TillFirst]
) -> None:
    """Sales and scans still come in while the agent stops (the pass-through, the readers):
    a backlog delivery waiting to give way to them would spend the stop's grace waiting, and
    be cancelled in flight."""
    outbox, api, first = running
    with first.serving():
        api.release.set()
        for _ in range(5):
            await asyncio.sleep(0.01)
        assert await outbox.finish(0.5)  # shorter than a step's longest wait
    assert await _state(journal, "op-OLD") is OperationState.DONE
