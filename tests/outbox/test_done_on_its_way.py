"""A backlog lane while its done is on the way to the disk (``delivery.Lane``): the lane
takes the next customer once the done is queued to the journal's writer, no request of
that customer leaves before the done is written, a power cut in between leaves what a cut
just after the answer leaves, and a done the disk refuses takes its lane back. On a real
journal file, with a scripted handler standing in for the Register API (the outbox's unit
tests; the fault suite runs the whole agent)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from register_agent.errors import JournalUnavailable
from register_agent.journal import Journal, NewOperation, Operation, OperationState, SaleRecord
from register_agent.journal.payloads import Payload
from register_agent.outbox.backoff import OutboxSettings
from register_agent.outbox.contract import Delivered, Progress
from register_agent.outbox.worker import Outbox

pytestmark = pytest.mark.anyio
NOW = 1_800_000_000.0
ONE_LANE = OutboxSettings(concurrency=1)


class Api:
    """Prepares (a step that applies nothing) and sends, noting each step in order."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str]] = []
        self.on_first_send: Callable[[], object] = lambda: None

    async def prepare(self, operation: Operation) -> Payload | None:
        self.steps.append(("prepare", operation.id))
        return None

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        if not any(step == "send" for step, _ in self.steps):
            self.on_first_send()
        self.steps.append(("send", operation.id))
        return Delivered(f"ref-{operation.id}")

    async def reconcile(self, operation: Operation) -> Delivered:
        self.steps.append(("reconcile", operation.id))
        return Delivered(f"ref-{operation.id}")

    def ids(self, step: str) -> list[str]:
        return [op_id for done, op_id in self.steps if done == step]


def one_lane(journal: Journal, api: Api) -> Outbox:
    return Outbox(journal, {"credit": api}, ONE_LANE, clock=lambda: NOW)


async def sell(journal: Journal, customer: str) -> str:
    record = SaleRecord(customer, "d", 1250, "EUR", f"card:{customer}", {}, "paid", NOW)
    op_id = f"op-{customer}"
    operation = NewOperation(op_id, "credit", f"card:{customer}", Payload())
    await journal.record_sale(record, [operation], print_receipt=False)
    return op_id


async def state(journal: Journal, op_id: str) -> OperationState:
    operation = await journal.operation(op_id)
    assert operation is not None
    return operation.state


async def until(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    for _ in range(500):
        met = check()
        if await met if inspect.isawaitable(met) else met:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def running(outbox: Outbox) -> Any:
    task = asyncio.create_task(outbox.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_lane_prepares_the_next_customer_while_the_done_is_written(
    journal: Journal,
) -> None:
    """The writer is held (a slow disk) from the first send on: the first done waits in its
    queue, the one lane goes on to the second customer's steps that apply nothing, and that
    customer's request leaves only once the first done is on disk."""
    api = Api()
    disk = threading.Event()
    api.on_first_send = lambda: journal._writer.submit(lambda _: disk.wait(5))
    op_ids = [await sell(journal, customer) for customer in ("A", "B")]
    async with running(one_lane(journal, api)):
        await until(lambda: len(api.ids("prepare")) == 2, "the second customer's steps")
        first, second = api.ids("prepare")
        assert api.ids("send") == [first]  # its request waits behind the held done
        assert await state(journal, first) is OperationState.IN_FLIGHT  # done not on disk
        assert await state(journal, second) is OperationState.PENDING
        disk.set()
        await until(lambda: _all_done(journal, op_ids), "both done")
    assert api.ids("send") == [first, second]


async def test_a_done_the_disk_refuses_takes_its_lane_back_until_it_is_written(
    journal: Journal,
) -> None:
    """Tried again later, the refused done is out of the writer's order: the lane waits
    for it, so nothing is sent while an answered operation is not on disk."""
    api = Api()
    seen: dict[str, OperationState] = {}
    refusals = 0
    move = journal.move

    async def a_full_disk_once(
        operation_id: str, expected: OperationState, target: OperationState, **rest: Any
    ) -> Operation:
        nonlocal refusals
        if target is OperationState.DONE and refusals == 0:
            refusals += 1
            raise JournalUnavailable("the disk is full", kind="disk_full")
        return await move(operation_id, expected, target, **rest)

    async def send(operation: Operation, progress: Progress) -> Delivered:
        for op_id in op_ids:  # what the journal holds of the others as this one is sent
            if op_id != operation.id:
                seen[op_id] = await state(journal, op_id)
        return await Api.send(api, operation, progress)

    journal.move = a_full_disk_once  # type: ignore[method-assign]
    api.send = send  # type: ignore[method-assign]
    op_ids = [await sell(journal, customer) for customer in ("A", "B")]
    async with running(one_lane(journal, api)):
        await until(lambda: _all_done(journal, op_ids), "both done")
    first, second = api.ids("send")
    assert refusals == 1
    assert seen[first] is OperationState.DONE  # the refused done was written first
    assert api.ids("prepare") == [first, second]


def test_a_power_cut_while_the_done_is_queued_leaves_it_in_flight_for_reconciliation(
    tmp_path: Path,
) -> None:
    """A real cut (the process ends at once) while the first done waits in the writer's
    queue and the lane prepares the second customer: the first is in flight, reconciled
    after the restart and found landed, the second never sent before it; each sent once."""
    path = tmp_path / "journal.sqlite3"
    script = textwrap.dedent(
        f"""
        import asyncio, os, threading
        from pathlib import Path
        from register_agent.journal import Journal, NewOperation, SaleRecord
        from register_agent.journal.payloads import Payload
        from register_agent.outbox.backoff import OutboxSettings
        from register_agent.outbox.contract import Delivered
        from register_agent.outbox.worker import Outbox
        class Api:
            prepared = 0
            async def prepare(self, operation):
                Api.prepared += 1
                if Api.prepared == 2:
                    print("prepared", operation.id, flush=True)
                    os._exit(137)
            async def send(self, operation, progress):
                journal._writer.submit(lambda _: threading.Event().wait(5))
                print("sent", operation.id, flush=True)
                return Delivered("server-ref")
            async def reconcile(self, operation):
                raise AssertionError
        async def main():
            for customer in ("A", "B"):
                card = "card:" + customer
                record = SaleRecord(customer, "d", 100, "EUR", card, {{}}, "paid", 1.0)
                operation = NewOperation("op-" + customer, "credit", card, Payload())
                await journal.record_sale(record, [operation], print_receipt=False)
            outbox = Outbox(journal, {{"credit": Api()}}, OutboxSettings(concurrency=1))
            await asyncio.wait_for(outbox.run(), 10)
        journal = Journal.open(Path({str(path)!r}))
        asyncio.run(main())
        """
    )
    cut = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
        check=False,
    )
    assert cut.returncode == 137, cut.stderr
    (sent, first), (prepared, second) = (line.split() for line in cut.stdout.splitlines())
    assert (sent, prepared) == ("sent", "prepared")
    assert {first, second} == {"op-A", "op-B"}
    asyncio.run(_after_the_cut(path, first, second))


async def _after_the_cut(path: Path, first: str, second: str) -> None:
    journal = Journal.open(path)
    try:
        assert await state(journal, first) is OperationState.IN_FLIGHT  # its done was lost
        assert await state(journal, second) is OperationState.PENDING
        assert await journal.recover_after_restart(NOW) == 1
        api = Api()
        outbox = one_lane(journal, api)
        await outbox.drain_once()
        await outbox.drain_once()
        assert api.ids("reconcile") == [first]  # found landed, not sent again
        assert api.ids("send") == [second]
        assert await _all_done(journal, [first, second])
    finally:
        journal.close()


async def _all_done(journal: Journal, op_ids: list[str]) -> bool:
    return all([await state(journal, op_id) is OperationState.DONE for op_id in op_ids])
