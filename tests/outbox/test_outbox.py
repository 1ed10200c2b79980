"""The outbox's decisions, on a real journal file, with a scripted handler standing in for
the Register API (a unit test of this one module: the client has its own tests, and the
end-to-end tests run both against the sandbox)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from register_agent.config import OutboxConfig
from register_agent.counter.health import TillHealth
from register_agent.errors import (
    AlreadyApplied,
    CredentialsRejected,
    LoyaltyApiError,
    NotApplied,
    OutcomeUnknown,
    RequestRejected,
)
from register_agent.journal import Journal, NewOperation, Operation, OperationState, SaleRecord
from register_agent.journal.payloads import Payload
from register_agent.journal.results import Result
from register_agent.outbox.backlog_room import BacklogRoom
from register_agent.outbox.backoff import OutboxSettings, backoff_delay, reconcile_delay
from register_agent.outbox.contract import Delivered, Progress, Reconciled
from register_agent.outbox.till_first import TillFirst
from register_agent.outbox.worker import Outbox
from tests.support.stored import stored

pytestmark = pytest.mark.anyio
NOW = 1_800_000_000.0
Outcome = Delivered | LoyaltyApiError


class ScriptedApi:
    """Answers each send and reconcile from a script; records what it was asked."""

    def __init__(self) -> None:
        self.send_script: list[Outcome] = []
        self.reconcile_script: list[Delivered | Reconciled | LoyaltyApiError] = []
        self.sent: list[str] = []
        self.reconciled: list[str] = []
        self.save: Mapping[str, Any] | None = None

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        self.sent.append(operation.id)
        if self.save is not None:  # a step's result, added to the payload
            await progress.save(operation.payload.model_copy(update=self.save))
        outcome = self.send_script.pop(0) if self.send_script else Delivered("ref-" + operation.id)
        if isinstance(outcome, LoyaltyApiError):
            raise outcome
        return outcome

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        self.reconciled.append(operation.id)
        outcome = self.reconcile_script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def api() -> ScriptedApi:
    return ScriptedApi()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(journal: Journal, api: ScriptedApi, clock: Clock) -> Outbox:
    return Outbox(journal, {"credit": api}, OutboxSettings(), clock=clock, rng=random.Random(7))


async def sell(journal: Journal, sale_id: str, customer: str | None = "card:A") -> str:
    record = SaleRecord(sale_id, "d", 1250, "EUR", customer, {}, "paid", NOW)
    op_id = f"op-{sale_id}"
    await journal.record_sale(
        record,
        [NewOperation(op_id, "credit", customer, Payload.model_validate({"cents": 1250}))],
        print_receipt=False,
    )
    return op_id


async def state_of(journal: Journal, op_id: str) -> Operation:
    operation = await journal.operation(op_id)
    assert operation is not None
    return operation


async def test_a_delivered_operation_is_done_with_the_server_reference(
    journal: Journal, outbox: Outbox, api: ScriptedApi
) -> None:
    op_id = await sell(journal, "1")
    await outbox.drain_once()
    done = await state_of(journal, op_id)
    assert (done.state, done.server_ref, done.attempts) == (OperationState.DONE, "ref-op-1", 1)
    await outbox.drain_once()
    assert api.sent == ["op-1"]


async def test_not_applied_waits_for_retry_after(
    journal: Journal, outbox: Outbox, api: ScriptedApi, clock: Clock
) -> None:
    op_id = await sell(journal, "1")
    api.send_script = [NotApplied("busy", status=429, retry_after=30)]
    await outbox.drain_once()
    waiting = await state_of(journal, op_id)
    assert waiting.state is OperationState.PENDING
    assert waiting.next_attempt_at >= NOW + 30
    assert "code" not in (waiting.last_error or "")
    clock.now = NOW + 29
    await outbox.drain_once()
    assert api.sent == ["op-1"]
    clock.now = NOW + 31
    await outbox.drain_once()
    assert api.sent == ["op-1", "op-1"]
    assert (await state_of(journal, op_id)).state is OperationState.DONE


async def test_an_unknown_outcome_is_reconciled_never_resent(
    journal: Journal, outbox: Outbox, api: ScriptedApi, clock: Clock
) -> None:
    op_id = await sell(journal, "1")
    api.send_script = [OutcomeUnknown("the connection dropped after sending")]
    api.reconcile_script = [Delivered("found-it", Result.model_validate({"credits": 12}))]
    await outbox.drain_once()
    assert (await state_of(journal, op_id)).state is OperationState.UNKNOWN
    clock.now = NOW + 60
    await outbox.drain_once()
    done = await state_of(journal, op_id)
    assert (done.state, done.server_ref, stored(done.result)) == (
        OperationState.DONE,
        "found-it",
        {"credits": 12},
    )
    assert api.sent == ["op-1"]
    assert api.reconciled == ["op-1"]


async def test_reconciliation_decides_between_resend_and_review(
    journal: Journal, outbox: Outbox, api: ScriptedApi, clock: Clock
) -> None:
    first, second = await sell(journal, "1", "card:A"), await sell(journal, "2", "card:B")
    api.send_script = [OutcomeUnknown("reset"), OutcomeUnknown("reset")]
    api.reconcile_script = [Reconciled.NOT_APPLIED, Reconciled.UNRESOLVABLE]
    await outbox.drain_once()
    clock.now = NOW + 60
    await outbox.drain_once()
    assert (await state_of(journal, first)).state is OperationState.PENDING
    assert (await state_of(journal, second)).state is OperationState.REVIEW
    await outbox.drain_once()
    assert (await state_of(journal, first)).state is OperationState.DONE
    assert api.sent.count("op-2") == 1


async def test_a_reconciliation_that_cannot_tell_yet_looks_again_later(
    journal: Journal, outbox: Outbox, api: ScriptedApi, clock: Clock
) -> None:
    op_id = await sell(journal, "1")
    api.send_script = [OutcomeUnknown("timeout")]
    api.reconcile_script = [NotApplied("offline")]
    await outbox.drain_once()
    clock.now = NOW + 60
    await outbox.drain_once()
    later = await state_of(journal, op_id)
    assert later.state is OperationState.UNKNOWN
    assert later.next_attempt_at > NOW + 60
    assert api.sent == ["op-1"]


async def test_already_applied_is_done_through_reconciliation(
    journal: Journal, outbox: Outbox, api: ScriptedApi
) -> None:
    op_id = await sell(journal, "1")
    api.send_script = [AlreadyApplied("POS transaction already linked", code=6001)]
    api.reconcile_script = [Delivered("the-first-one")]
    await outbox.drain_once()
    await outbox.drain_once()
    assert (await state_of(journal, op_id)).server_ref == "the-first-one"


async def test_a_rejection_is_dead_with_its_code(
    journal: Journal, outbox: Outbox, api: ScriptedApi, clock: Clock
) -> None:
    op_id = await sell(journal, "1")
    api.send_script = [RequestRejected("Card not registered", code=1013)]
    await outbox.drain_once()
    dead = await state_of(journal, op_id)
    assert dead.state is OperationState.DEAD
    assert "1013" in (dead.last_error or "")
    clock.now = NOW + 3600
    await outbox.drain_once()
    assert api.sent == ["op-1"]


async def test_a_refused_key_pauses_all_sending_until_it_changes(
    journal: Journal, api: ScriptedApi, clock: Clock
) -> None:
    first, second = await sell(journal, "1", "card:A"), await sell(journal, "2", "card:B")
    api.send_script = [CredentialsRejected("bad key", status=401), CredentialsRejected("bad")]
    outbox = Outbox(journal, {"credit": api}, OutboxSettings(concurrency=1), clock=clock)
    await outbox.drain_once()
    assert outbox.credentials_refused
    await outbox.drain_once()
    (tried,) = api.sent  # the newest sale first (journal/due.py); then nothing more
    assert tried == "op-2"
    assert (await state_of(journal, second)).state is OperationState.PENDING
    api.send_script = []
    outbox.resume_after_new_key()
    await outbox.drain_once()
    await outbox.drain_once()
    assert (await state_of(journal, first)).state is OperationState.DONE
    assert (await state_of(journal, second)).state is OperationState.DONE


async def test_one_customer_waits_for_its_earlier_operation(
    journal: Journal, outbox: Outbox, api: ScriptedApi, clock: Clock
) -> None:
    await sell(journal, "1", "card:A")
    await sell(journal, "2", "card:A")
    await sell(journal, "3", "card:B")
    api.send_script = [NotApplied("down")]
    await outbox.drain_once()
    assert api.sent == ["op-1", "op-3"]  # op-2 waits behind op-1, B goes ahead
    clock.now = NOW + 600
    await outbox.drain_once()
    await outbox.drain_once()
    assert api.sent == ["op-1", "op-3", "op-1", "op-2"]


async def test_a_saved_step_survives_without_counting_an_attempt(
    journal: Journal, outbox: Outbox, api: ScriptedApi
) -> None:
    op_id = await sell(journal, "1")
    api.save = {"pos_transaction_uuid": "5d0b2c1e"}
    api.send_script = [OutcomeUnknown("reset")]
    await outbox.drain_once()
    after = await state_of(journal, op_id)
    assert stored(after.payload) == {"cents": 1250, "pos_transaction_uuid": "5d0b2c1e"}
    assert (after.state, after.attempts) == (OperationState.UNKNOWN, 1)


def test_backoff_grows_with_jitter_and_a_ceiling() -> None:
    settings = OutboxSettings(backoff_base_s=2, backoff_max_s=60)
    rng = random.Random(1)
    first = [backoff_delay(1, settings, rng) for _ in range(50)]
    late = [backoff_delay(20, settings, rng) for _ in range(50)]
    assert all(1 <= delay <= 2 for delay in first)
    assert all(30 <= delay <= 60 for delay in late)
    assert len(set(late)) > 40


def test_a_crash_after_sending_leaves_the_operation_to_reconciliation(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    script = textwrap.dedent(
        f"""
        import asyncio
        from pathlib import Path
        from register_agent.journal import Journal, NewOperation, SaleRecord
        from register_agent.journal.payloads import Payload
        from register_agent.outbox.contract import Delivered
        from register_agent.outbox.worker import Outbox
        class Api:
            async def send(self, operation, progress):
                print("sent", flush=True)
                return Delivered("server-ref")
            async def reconcile(self, operation):
                raise AssertionError
        async def main():
            journal = Journal.open(Path({str(path)!r}))
            record = SaleRecord("1", "d", 100, "EUR", "card:A", {{}}, "paid", 1.0)
            await journal.record_sale(
                record, [NewOperation("op-1", "credit", "card:A", Payload())],
                print_receipt=False)
            await Outbox(journal, {{"credit": Api()}}).drain_once()
            print("survived", flush=True)
        asyncio.run(main())
        """
    )
    env = {**os.environ, "REGISTER_AGENT_CRASH_AT": "after_send"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 137, done.stderr
    assert done.stdout.split() == ["sent"]
    journal = Journal.open(path)
    try:

        async def check() -> tuple[int, OperationState]:
            recovered = await journal.recover_after_restart(NOW)
            operation = await journal.operation("op-1")
            assert operation is not None
            return recovered, operation.state

        assert asyncio.run(check()) == (1, OperationState.UNKNOWN)
    finally:
        journal.close()


async def test_whoever_waits_hears_each_settled_operation(
    journal: Journal, api: ScriptedApi, clock: Clock
) -> None:
    heard: list[tuple[str, OperationState]] = []

    async def listener(operation: Operation) -> None:
        heard.append((operation.id, operation.state))

    outbox = Outbox(journal, {"credit": api}, clock=clock, on_settled=listener)
    await sell(journal, "1", "card:A")
    await sell(journal, "2", "card:B")
    api.send_script = [Delivered("r1"), RequestRejected("no", code=1013)]
    await outbox.drain_once()
    assert sorted(heard) == [("op-1", OperationState.DONE), ("op-2", OperationState.DEAD)]


async def test_the_till_hears_when_only_the_outbox_meets_an_outage(
    journal: Journal, api: ScriptedApi, clock: Clock
) -> None:
    heard: list[str] = []
    health = TillHealth(journal, OutboxConfig())

    def hear(failure: LoyaltyApiError | None) -> None:
        heard.append(str(failure))
        health.api_result(failure)

    outbox = Outbox(journal, {"credit": api}, clock=clock, on_api_result=hear)
    for sale in "12":
        await sell(journal, sale, f"card:{sale}")
    api.send_script = [NotApplied("connection refused"), NotApplied("read timeout")]
    await outbox.drain_once()
    assert sorted(heard) == ["connection refused", "read timeout"]
    assert str(health.api_state) == "unreachable"
    # a refusal with a code is an answer too: the API was reached
    api.send_script = [RequestRejected("no", code=1013), RequestRejected("no", code=1013)]
    clock.now = NOW + 3600
    await outbox.drain_once()
    assert health.api_state == "reachable"


async def test_a_stopping_outbox_starts_nothing_new(
    journal: Journal, outbox: Outbox, api: ScriptedApi
) -> None:
    await sell(journal, "1")
    assert await outbox.finish(timeout_s=1)
    await outbox.drain_once()
    assert api.sent == []
    assert (await state_of(journal, "op-1")).state is OperationState.PENDING


def test_an_old_puzzle_is_looked_at_less_often() -> None:
    settings = OutboxSettings(backoff_base_s=2, backoff_max_s=300)
    assert reconcile_delay(1, settings) == 2
    assert reconcile_delay(100, settings) == 25
    assert reconcile_delay(86400, settings) == 300


async def test_a_reconciliation_bug_does_not_spin(
    journal: Journal, api: ScriptedApi, clock: Clock
) -> None:
    op_id = await sell(journal, "1")
    api.send_script = [OutcomeUnknown("reset")]
    api.reconcile_script = [ValueError("a bug")]  # type: ignore[list-item]
    outbox = Outbox(journal, {"credit": api}, clock=clock)
    await outbox.drain_once()
    clock.now = NOW + 60
    await outbox.drain_once()
    await outbox.drain_once()
    assert api.reconciled == ["op-1"]  # once, not in a tight loop
    later = await state_of(journal, op_id)
    assert (later.state, later.next_attempt_at > NOW + 60) == (OperationState.UNKNOWN, True)


async def test_a_wake_up_while_the_loop_looks_for_work_is_not_lost(
    journal: Journal, api: ScriptedApi, clock: Clock
) -> None:
    """An operation that finishes while the loop is looking for work wakes it: the loop
    looks again at once instead of napping until the idle poll (here a minute)."""
    looks = 0

    class Racing(Outbox):
        async def step(self, tasks: asyncio.TaskGroup, *, lanes: int | None = None) -> int:
            nonlocal looks
            looks += 1
            if looks == 1:
                self.wake()  # as if an operation finished during this look
            return 0

    outbox = Racing(journal, {"credit": api}, OutboxSettings(idle_poll_s=60), clock=clock)
    running = asyncio.create_task(outbox.run())
    await asyncio.sleep(0.2)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert looks == 2  # looked again at once, then napped (nothing woke it any more)


async def _record_first(journal: Journal, sale_id: str, customer: str) -> list[Operation]:
    record = SaleRecord(sale_id, "d", 1250, "EUR", customer, {}, "paid", NOW)
    payload = Payload.model_validate({"cents": 1250})
    operation = NewOperation(f"op-{sale_id}", "credit", customer, payload)
    _, created, first = await journal.record_sale_first_in_line(
        record, [operation], print_receipt=False
    )
    assert created
    return first


async def test_a_recorded_sale_is_first_in_line_unless_its_customer_has_work_before_it(
    journal: Journal,
) -> None:
    assert [op.id for op in await _record_first(journal, "S-1", "card:A")] == ["op-S-1"]
    # card A's first sale is still to be sent: the second waits behind it
    assert await _record_first(journal, "S-2", "card:A") == []
    assert [op.id for op in await _record_first(journal, "S-3", "card:B")] == ["op-S-3"]
    record = SaleRecord("S-1", "d", 1250, "EUR", "card:A", {}, "paid", NOW)
    # the same sale again: nothing new recorded, nothing to start
    assert (await journal.record_sale_first_in_line(record, [], print_receipt=False))[1:] == (
        False,
        [],
    )


async def test_an_offered_operation_starts_without_a_read_of_the_due_list(
    journal: Journal, api: ScriptedApi, clock: Clock
) -> None:
    # the read is the till's wait between a sale's commit and its first request
    reads: list[float] = []
    read_due = journal.due_operations

    async def counted(now: float, limit: int) -> list[Operation]:
        reads.append(now)
        return await read_due(now, limit)

    # how many reads had been made when the request went out
    reads_at_send: list[int] = []
    send = api.send

    async def counting_send(operation: Operation, progress: Progress) -> Delivered:
        reads_at_send.append(len(reads))
        return await send(operation, progress)

    api.send = counting_send  # type: ignore[method-assign]
    outbox = Outbox(journal, {"credit": api}, OutboxSettings(idle_poll_s=60), clock=clock)
    running = asyncio.create_task(outbox.run())
    await asyncio.sleep(0.05)  # the first turn's read of an empty journal, then the nap
    journal.due_operations = counted  # type: ignore[method-assign]
    first = await _record_first(journal, "S-1", "card:A")
    assert outbox.offer(first)
    for _ in range(100):
        done = await journal.operation("op-S-1")
        if done is not None and done.state is OperationState.DONE:
            break
        await asyncio.sleep(0.01)
    assert done is not None
    assert done.state is OperationState.DONE
    assert api.sent == ["op-S-1"]
    # sent before any read; the one read after is the worker looking for what is next
    assert reads_at_send == [0]
    assert len(reads) <= 1
    # offered again once it has ended (a stale offer): not started a second time
    assert not outbox.offer(first)
    await asyncio.sleep(0.05)
    assert api.sent == ["op-S-1"]
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running


async def test_nothing_is_offered_to_an_outbox_that_is_not_running_or_is_paused(
    journal: Journal, api: ScriptedApi, clock: Clock
) -> None:
    outbox = Outbox(journal, {"credit": api}, OutboxSettings(), clock=clock)
    first = await _record_first(journal, "S-1", "card:A")
    assert not outbox.offer(first)  # not running: the wake-up's read will find it
    outbox.credentials_refused = True
    assert not outbox.offer(first)
    assert api.sent == []


async def _deliver_all(outbox: Outbox, journal: Journal, op_ids: list[str]) -> None:
    running = asyncio.create_task(outbox.run())
    try:
        for _ in range(1000):
            states = [(await state_of(journal, op_id)).state for op_id in op_ids]
            if all(state is OperationState.DONE for state in states):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the operations were not all delivered")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_backlog_deliveries_waiting_on_the_network_go_side_by_side_up_to_the_room(
    journal: Journal, api: ScriptedApi, clock: Clock
) -> None:
    """Each send waits on a far server and costs the till little beside the wait: the
    backlog's room grows a lane at a time (``backlog_room``) until four customers are sent
    at once (where it goes after is the room's to judge: tests/outbox/test_backlog_room.py)."""
    sending = most = 0
    send = api.send

    async def far_send(operation: Operation, progress: Progress) -> Delivered:
        nonlocal sending, most
        sending += 1
        most = max(most, sending)
        try:
            await asyncio.sleep(0.03)
            return await send(operation, progress)
        finally:
            sending -= 1

    api.send = far_send  # type: ignore[method-assign]
    outbox = Outbox(journal, {"credit": api}, OutboxSettings(concurrency=4), clock=clock)
    op_ids = [await sell(journal, f"{n}", f"card:{n}") for n in range(100)]
    assert outbox.backlog_room.lanes == 1  # it starts with one
    await _deliver_all(outbox, journal, op_ids)
    assert most == 4


async def test_a_backlog_deliverys_wait_for_the_till_is_not_counted_as_its_time(
    journal: Journal, api: ScriptedApi, clock: Clock
) -> None:
    """The till begins answering a scan while a backlog delivery is at the Register API and
    answers for 0.3 s: the delivery's next step waits for it, and the room is told the
    delivery's time without that wait."""
    till = TillFirst()
    told: list[float] = []

    class Told(BacklogRoom):
        def took(self, lanes: int, seconds: float) -> None:
            told.append(seconds)

    send = api.send

    async def send_while_the_till_answers(operation: Operation, progress: Progress) -> Delivered:
        answer = till.serving()
        answer.__enter__()
        asyncio.get_running_loop().call_later(0.3, answer.__exit__, None, None, None)
        return await send(operation, progress)

    api.send = send_while_the_till_answers  # type: ignore[method-assign]
    outbox = Outbox(journal, {"credit": api}, OutboxSettings(), clock=clock, till_first=till)
    outbox.backlog_room = Told(4)
    op_id = await sell(journal, "1", "card:B")
    begun = time.perf_counter()
    await _deliver_all(outbox, journal, [op_id])
    assert time.perf_counter() - begun >= 0.3  # it did wait for the answer
    assert len(told) == 1
    assert told[0] < 0.15
