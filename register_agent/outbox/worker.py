"""The outbox worker: delivers the journal's operations to the Register API exactly once.

It owns the persistent backoff (jitter, ``Retry-After``), the pause on a refused API key,
the order per customer (the journal hands out one operation per customer at a time), and
reconciliation: an operation whose outcome is unknown is never sent again before a
handler has found out whether it landed. The outbox's side of the failure table
(docs/architecture.md, "When something fails") and how long to wait are ``backoff``'s;
what each kind of operation sends and how it is reconciled lives in its handler
(``contract``); how a full disk stops no delivery for good, ``journal_writes``'s; when
the backlog gives way to the sale being answered at the counter, ``till_first``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Unpack

from register_agent.common.faults import WorkerFaults
from register_agent.common.logs import in_log_context
from register_agent.common.test_hooks import hang_point, pause_point
from register_agent.errors import (
    CredentialsRejected,
    JournalError,
    JournalUnavailable,
    LoyaltyApiError,
    OutcomeUnknown,
)
from register_agent.journal import Journal, Operation, OperationChanges, OperationState
from register_agent.journal.payloads import Payload
from register_agent.outbox.backoff import (
    OutboxSettings,
    after_failure,
    nothing_applied,
)
from register_agent.outbox.contract import (
    NotPrepared,
    OperationHandler,
    Prepares,
    crash_point,
)
from register_agent.outbox.journal_writes import JournalProgress, JournalWrites, describe_failure
from register_agent.outbox.reconciling import reconciled
from register_agent.outbox.till_first import TillFirst

__all__ = ["Outbox", "OutboxSettings"]

log = logging.getLogger(__name__)


class Outbox:
    """Works through due operations, a bounded number of customers in parallel."""

    def __init__(
        self,
        journal: Journal,
        handlers: Mapping[str, OperationHandler],
        settings: OutboxSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_beat: Callable[[], None] = lambda: None,
        on_settled: Callable[[Operation], Awaitable[None]] | None = None,
        on_api_result: Callable[[LoyaltyApiError | None], None] = lambda _: None,
        faults: WorkerFaults | None = None,
        till_first: TillFirst | None = None,
    ) -> None:
        self._journal = journal
        self._handlers = dict(handlers)
        self._settings = settings or OutboxSettings()
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self._on_beat = on_beat
        self._on_settled = on_settled or _nobody_waits
        self._on_api_result = on_api_result  # the till's health: is the API reachable?
        self._writes = JournalWrites(journal, faults or WorkerFaults(), lambda: self._stopping)
        self._wake = asyncio.Event()
        self._busy: set[str] = set()
        self._backlog: set[str] = set()  # of _busy, those no answered sale waits for
        self._till_first = till_first or TillFirst()
        self._till_first.listen(self.wake)
        self._watching: list[set[str]] = []  # what ended during each read of the due list
        self._stopping = False
        self._unrecovered = False  # the start's recovery waits for space on the disk
        self.credentials_refused = False

    def wake(self) -> None:
        """New work or a changed key: look at the journal now instead of at the next poll."""
        self._wake.set()

    def resume_after_new_key(self) -> None:
        self.credentials_refused = False
        self.wake()

    async def recover(self) -> int:
        """At start: what was in flight when the agent stopped may have applied (on a full
        disk, ``run`` does it first once there is space: nothing in flight is due before)."""
        recovered = await self._writes.recover(self._clock())
        self._unrecovered = recovered is None
        return recovered or 0

    async def run(self) -> None:
        """Deliver until cancelled; every turn of the loop is a heartbeat, idle or busy."""
        failing = False
        async with asyncio.TaskGroup() as tasks:
            while True:
                self._on_beat()
                await hang_point("outbox")
                # cleared before looking, not after: a wake-up that comes while we look
                # (an operation finished) must not be lost to a half-second nap
                self._wake.clear()
                try:
                    if self._unrecovered and await self.recover():
                        log.warning("operations in flight at the last stop: reconciling")
                    started = not self._unrecovered and await self.step(tasks)
                except JournalError as exc:  # unreadable now: look again at the next poll
                    self._writes.failed(exc)  # (not later: the heartbeat goes on)
                    failing = True
                    await asyncio.sleep(self._settings.idle_poll_s)
                    continue
                if failing:
                    self._writes.ok()
                    failing = False
                if not started:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._settings.idle_poll_s)

    async def finish(self, timeout_s: float) -> bool:
        """Shutting down: start nothing new, give what is in flight ``timeout_s`` to end.

        Returns whether everything in flight ended; what did not is cancelled by the caller
        and stays ``in_flight`` in the journal, to be reconciled after the restart.
        """
        self._stopping = True
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._busy and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        return not self._busy

    async def step(self, tasks: asyncio.TaskGroup) -> int:
        """Start work on the due operations there is room for; return how many started."""
        if self.credentials_refused or self._stopping:
            return 0
        room = self._settings.concurrency - len(self._busy)
        if room <= 0:
            return 0
        # One owner per operation. The due list is read on the reader thread while the
        # tasks go on, so an operation can end (and leave _busy) after the read saw it due:
        # its row in the list is stale then, and starting it would work it a second time
        # beside the move its first owner just made. What ended meanwhile waits for the
        # next turn's fresh read.
        if self._till_first.holding():
            return 0
        ended: set[str] = set()
        self._watching.append(ended)
        try:
            due = await self._journal.due_operations(self._clock(), limit=room + len(self._busy))
            await pause_point("outbox_due_read")
        finally:
            self._watching.remove(ended)
        free = [op for op in due if op.id not in self._busy and op.id not in ended]
        chosen = self._till_first.choose(free, room, len(self._backlog))
        for operation, own in chosen:
            self._busy.add(operation.id)
            if not own:
                self._backlog.add(operation.id)
            tasks.create_task(
                in_log_context(
                    self._work(operation), operation_id=operation.id, sale_id=operation.sale_id
                )
            )
        return len(chosen)

    async def drain_once(self) -> None:
        """Work every operation that is due now, then return (for tests and `demo`)."""
        async with asyncio.TaskGroup() as tasks:
            await self.step(tasks)

    async def _work(self, operation: Operation) -> None:
        try:
            if operation.state is OperationState.UNKNOWN:
                await self._reconcile(operation)
            else:
                await self._send(operation)
        except JournalUnavailable as exc:  # it stays as it is, busy for a while: no tight
            await asyncio.sleep(self._writes.failed(exc))  # loop of refused writes
        except Exception:
            # never let one operation take the worker down; it stays where it was
            log.exception("operation %s (%s) failed unexpectedly", operation.id, operation.kind)
        finally:
            self._busy.discard(operation.id)
            self._backlog.discard(operation.id)
            for ended in self._watching:
                ended.add(operation.id)
            self.wake()

    async def _settle(
        self,
        operation_id: str,
        expected: OperationState,
        target: OperationState,
        *,
        now: float,
        **changes: Unpack[OperationChanges],
    ) -> Operation:
        """Move the operation on (kept through a full disk: ``journal_writes.py``) and tell
        whoever waits for it (a receipt, the POS screen)."""
        moved = await self._writes.move(operation_id, expected, target, now=now, **changes)
        await self._on_settled(moved)
        return moved

    def _handler(self, operation: Operation) -> OperationHandler:
        return self._handlers[operation.kind]

    async def _send(self, operation: Operation) -> None:
        handler = self._handler(operation)
        try:
            # the steps that can apply nothing go first, while the operation is pending, and
            # are saved with in_flight: one commit, where each had one of its own
            prepared = await handler.prepare(operation) if isinstance(handler, Prepares) else None
        except NotPrepared as failed:
            self._on_api_result(failed.cause)
            cause = nothing_applied(failed.cause)
            await self._after_failure(operation, cause, OperationState.PENDING, failed.payload)
            return
        changes: OperationChanges = {} if prepared is None else {"payload": prepared}
        # in_flight is durable before the first request that can apply anything leaves
        sent = await self._journal.move(
            operation.id,
            OperationState.PENDING,
            OperationState.IN_FLIGHT,
            now=self._clock(),
            **changes,
        )
        progress = JournalProgress(self._journal, sent, self._clock)
        try:
            delivered = await handler.send(progress.operation, progress)
        except LoyaltyApiError as exc:
            crash_point("after_send")
            self._on_api_result(exc)
            await self._after_failure(progress.operation, exc)
            return
        except Exception as exc:  # a bug after in_flight: the request may have gone out
            log.exception("operation %s (%s) failed unexpectedly", sent.id, sent.kind)
            await self._after_failure(progress.operation, OutcomeUnknown(repr(exc)))
            return
        crash_point("after_send")
        self._on_api_result(None)
        await self._settle(
            sent.id,
            OperationState.IN_FLIGHT,
            OperationState.DONE,
            now=self._clock(),
            server_ref=delivered.server_ref,
            result=delivered.result,
            last_error=None,
        )

    async def _after_failure(
        self,
        operation: Operation,
        exc: LoyaltyApiError,
        expected: OperationState = OperationState.IN_FLIGHT,
        kept: Payload | None = None,
    ) -> None:
        """``expected`` pending: it failed while preparing, which counts as an attempt, and
        ``kept`` is the payload with what its first steps found."""
        now = self._clock()
        attempts = operation.attempts + (expected is OperationState.PENDING)
        target, delay = after_failure(attempts, exc, self._settings, self._rng)
        if isinstance(exc, CredentialsRejected) and not self.credentials_refused:
            self.credentials_refused = True
            log.error("a key was refused (%s): sending paused until it changes", exc)
        changes: OperationChanges = {
            "next_attempt_at": now + delay,
            "last_error": describe_failure(exc),
        }
        if kept is not None:
            changes["payload"] = kept
        await self._settle(operation.id, expected, target, now=now, **changes)

    async def _reconcile(self, operation: Operation) -> None:
        now = self._clock()
        handler = self._handler(operation)
        target, changes = await reconciled(
            handler, operation, self._settings, now, self._on_api_result
        )
        await self._settle(operation.id, OperationState.UNKNOWN, target, now=now, **changes)


async def _nobody_waits(operation: Operation) -> None:
    """The default ``on_settled``: nothing to tell."""
