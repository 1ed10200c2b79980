"""The outbox worker: delivers the journal's operations to the Register API exactly once.

It decides which operations start when: the order per customer (the journal hands out one
operation per customer at a time), customers side by side within ``[outbox] concurrency``
(the backlog's within the lanes that add to its drain, ``backlog_room``'s; a backlog
operation answered holds no lane while its done is written, ``delivery.Lane``), the pause
on a refused API key, and a sale's fresh operations started as it is recorded (``offer``).
One operation's delivery, its persistent backoff (jitter, ``Retry-After``) and its
reconciliation (an operation whose outcome is unknown is never sent again before a
handler has found out whether it landed) are ``delivery``'s. The outbox's side of the
failure table (docs/architecture.md, "When something fails") and how long to wait are
``backoff``'s; what each kind of operation sends and how it is reconciled lives in its
handler (``contract``); how a full disk stops no delivery for good, ``journal_writes``'s;
when the backlog gives way to the sale being answered at the counter, ``till_first``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence

from register_agent.common.faults import WorkerFaults
from register_agent.common.logs import in_log_context
from register_agent.common.test_hooks import hang_point, pause_point
from register_agent.errors import JournalError, JournalUnavailable, LoyaltyApiError
from register_agent.journal import Journal, Operation
from register_agent.outbox.backlog_room import BacklogRoom
from register_agent.outbox.backoff import OutboxSettings
from register_agent.outbox.contract import OperationHandler
from register_agent.outbox.delivery import KEEP, Delivery, Lane, nobody_waits
from register_agent.outbox.journal_writes import JournalWrites
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
        self._settings = settings or OutboxSettings()
        self._clock = clock
        self._on_beat = on_beat
        self._writes = JournalWrites(journal, faults or WorkerFaults(), lambda: self._stopping)
        self._till_first = till_first or TillFirst()
        self.backlog_room = BacklogRoom(self._settings.concurrency)
        self._gave_way: dict[str, float] = {}  # a backlog delivery's waits for the till
        self._delivery = Delivery(
            journal,
            handlers,
            self._settings,
            self._writes,
            clock=clock,
            rng=rng or random.Random(),  # noqa: S311 (jitter, not cryptography)
            on_settled=on_settled or nobody_waits,
            on_api_result=on_api_result,
            on_key_refused=self._key_refused,
            backlog_step=self._backlog_step,
        )
        self._wake = asyncio.Event()
        self._busy: set[str] = set()
        self._backlog: set[str] = set()  # of _busy, those no answered sale waits for
        # of _busy, backlog ones answered whose done is on its way to the disk: no lane
        self._settling: set[str] = set()
        self._till_first.listen(self.wake, self.offer)
        self._watching: list[set[str]] = []  # what ended during each read of the due list
        self._ended_lately: deque[str] = deque(maxlen=1024)  # for ``offer``'s check
        self._tasks: asyncio.TaskGroup | None = None  # ``run``'s, while it runs
        self._waiting = False  # the worker's loop waits for a wake-up (not hung, not reading)
        self._stopping = False
        self._unrecovered = False  # the start's recovery waits for space on the disk
        self.credentials_refused = False

    def wake(self) -> None:
        """New work or a changed key: look at the journal now instead of at the next poll."""
        self._wake.set()

    def _key_refused(self, exc: LoyaltyApiError) -> None:
        if not self.credentials_refused:
            self.credentials_refused = True
            log.error("a key was refused (%s): sending paused until it changes", exc)

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
        try:
            async with asyncio.TaskGroup() as self._tasks:
                await self._turns(self._tasks)
        finally:
            self._tasks = None  # a sale recorded after this is left to the next start

    async def _turns(self, tasks: asyncio.TaskGroup) -> None:
        failing = False
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
                self._waiting = True  # ``offer`` starts work only for a worker at rest
                try:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._settings.idle_poll_s)
                finally:
                    self._waiting = False

    async def finish(self, timeout_s: float) -> bool:
        """Shutting down: start nothing new, give what is in flight ``timeout_s`` to end.

        Returns whether everything in flight ended; what did not is cancelled by the caller
        and stays ``in_flight`` in the journal, to be reconciled after the restart.
        """
        self._stopping = True
        self._till_first.stopping()  # what waits to give way to the till goes on now
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._busy and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        return not self._busy

    async def step(self, tasks: asyncio.TaskGroup, *, lanes: int | None = None) -> int:
        """Start work on the due operations there is room for; return how many started.
        ``lanes``: the backlog's (by default as many as add to its drain, ``backlog_room``)."""
        if self.credentials_refused or self._stopping:
            return 0
        lanes = self.backlog_room.lanes if lanes is None else lanes
        sending = len(self._busy) - len(self._settling)
        room = min(self._settings.concurrency - sending, lanes - len(self._backlog))
        own_room = self._own_room()
        if own_room <= 0 or (room <= 0 and not self._till_first.sale_recorded()):
            return 0  # (beyond the room, only an answered sale's operations may start)
        # One owner per operation. The due list is read on the reader thread while the
        # tasks go on, so an operation can end (and leave _busy) after the read saw it due:
        # its row in the list is stale then, and starting it would work it a second time
        # beside the move its first owner just made. What ended meanwhile waits for the
        # next turn's fresh read.
        if self._till_first.holding(len(self._backlog)):
            return 0
        ended: set[str] = set()
        self._watching.append(ended)
        try:
            limit = own_room + len(self._busy)
            due = await self._journal.due_operations(self._clock(), limit=limit)
            await pause_point("outbox_due_read")
        finally:
            self._watching.remove(ended)
        free = [op for op in due if op.id not in self._busy and op.id not in ended]
        chosen = self._till_first.choose(free, room, len(self._backlog), own_room)
        for operation, own in chosen:
            self._start(tasks, operation, own)
        return len(chosen)

    def offer(self, operations: Sequence[Operation]) -> bool:
        """A sale's operations just recorded, first in their customers' lines (the journal
        said so in the sale's own transaction): started now, with no read of the due list
        between the commit and the first request; whether all were (when not, the caller
        wakes the outbox and its read finds the rest). None is started unless the worker's
        loop is at rest (a loop that hangs, is reading, or waits for the start's recovery
        starts what it finds itself); one is not when there is no room, sending is paused,
        or a read started it already (busy, or ended lately; its move to in flight is a
        compare-and-set besides)."""
        tasks = self._tasks if self._waiting and not self._unrecovered else None
        paused = self.credentials_refused or self._stopping
        for operation in operations:
            known = operation.id in self._busy or operation.id in self._ended_lately
            if tasks is None or paused or self._own_room() <= 0 or known:
                return False
            self._start(tasks, operation, own=True)
        return True

    def _own_room(self) -> int:
        """The room for an answered sale's operations: the concurrency less what answered
        sales have in flight. The backlog's deliveries give way to the till before each
        step (``TillFirst.backlog_step``); the slots they hold meanwhile must not keep the
        sale they give way to waiting for one, so its operations may go beyond them."""
        own = len(self._busy) - len(self._backlog) - len(self._settling)
        return self._settings.concurrency - own

    def _start(self, tasks: asyncio.TaskGroup, operation: Operation, own: bool) -> None:
        self._busy.add(operation.id)
        if not own:
            self._backlog.add(operation.id)
        work = in_log_context(
            self._work(operation, own), operation_id=operation.id, sale_id=operation.sale_id
        )
        tasks.create_task(work)

    async def drain_once(self) -> None:
        """Work every operation that is due now, then return (for tests and `demo`): as
        many customers side by side as the concurrency allows (nothing drains on to judge
        the lanes by)."""
        async with asyncio.TaskGroup() as tasks:
            await self.step(tasks, lanes=self._settings.concurrency)

    async def _backlog_step(self, operation: Operation) -> None:
        """A backlog delivery gives way to the till (``TillFirst.backlog_step``); the time
        it waited is not the delivery's own (``backlog_room`` judges lanes by the rest)."""
        begun = time.perf_counter()
        await self._till_first.backlog_step(operation)
        waited = time.perf_counter() - begun
        self._gave_way[operation.id] = self._gave_way.get(operation.id, 0.0) + waited

    async def _work(self, operation: Operation, own: bool) -> None:
        lanes, begun = self.backlog_room.lanes, time.perf_counter()
        timed = False

        def time_it() -> None:
            """Tell the room the delivery's time, once: up to its done queued, or its end."""
            nonlocal timed
            if not timed:
                timed = True
                worked = time.perf_counter() - begun - self._gave_way.get(operation.id, 0.0)
                self.backlog_room.took(lanes, worked)

        def free() -> None:
            """The answer is in hand and its done queued: the lane is another customer's,
            the operation still this task's (busy) until the done is on disk and told."""
            time_it()
            self._backlog.discard(operation.id)
            self._settling.add(operation.id)
            self.wake()

        def taken_again() -> None:
            if operation.id in self._settling:
                self._settling.discard(operation.id)
                self._backlog.add(operation.id)

        # An answered sale's own operation keeps its lane to the end: someone waits for
        # its done, and a read for more work would run during the cashier's answer.
        lane = KEEP if own else Lane(free, taken_again)
        try:
            await self._delivery.deliver(operation, backlog=not own, lane=lane)
            if not own:
                time_it()  # (a failure's or a reconciliation's move: the lane kept to its end)
        except JournalUnavailable as exc:  # it stays as it is, busy for a while: no tight
            lane.taken_again()  # loop of refused writes
            await asyncio.sleep(self._writes.failed(exc))
        except Exception:
            # never let one operation take the worker down; it stays where it was
            log.exception("operation %s (%s) failed unexpectedly", operation.id, operation.kind)
        finally:
            self._gave_way.pop(operation.id, None)
            self._busy.discard(operation.id)
            self._backlog.discard(operation.id)
            self._settling.discard(operation.id)
            for ended in self._watching:
                ended.add(operation.id)
            self._ended_lately.append(operation.id)
            self.wake()
