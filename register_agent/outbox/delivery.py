"""One operation's delivery, for the outbox worker (``worker.py``, which decides which
operations start when): what can apply nothing first (the handler's ``prepare``), the move
to in flight made durable before the first request that can apply anything, the handler's
send, and the move on: done, or where ``backoff`` says after a failure (a refused key pauses
all sending); an operation whose outcome is unknown is reconciled, never sent again first
(docs/architecture.md, "Exactly once"). Every move tells whoever waits (``on_settled``).
A backlog delivery (no answered sale waits for it) gives way to the till before each step
(``backlog_step``: ``till_first.TillFirst.backlog_step``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Unpack

from register_agent.errors import CredentialsRejected, LoyaltyApiError, OutcomeUnknown
from register_agent.journal import Journal, Operation, OperationChanges, OperationState
from register_agent.journal.payloads import Payload
from register_agent.outbox.backoff import OutboxSettings, after_failure, nothing_applied
from register_agent.outbox.contract import NotPrepared, OperationHandler, Prepares, crash_point
from register_agent.outbox.journal_writes import JournalProgress, JournalWrites, describe_failure
from register_agent.outbox.reconciling import reconciled

log = logging.getLogger(__name__)

#: what a delivery awaits before each of its steps
Step = Callable[[Operation], Awaitable[None]]


async def _no_wait(_: Operation) -> None:
    """An answered sale's own delivery (or one nobody asked to give way): no wait."""


def _nothing() -> None:
    """A ``Lane`` the caller keeps until the delivery returns (an answered sale's own)."""


@dataclass(frozen=True)
class Lane:
    """What a delivery tells its caller of the lane it was started in. ``free``: the answer
    is in hand and its move to done is queued to the journal's writer, so the lane may
    start another customer's operation; that one's in flight is queued behind the done
    (the writer is first in, first out), so none of its requests that can apply anything
    leaves before the done is on disk. ``taken_again``: the disk refused the done, which is
    tried again later, out of that order: the lane is the delivery's again until written."""

    free: Callable[[], None] = _nothing
    taken_again: Callable[[], None] = _nothing


KEEP = Lane()


class Delivery:
    """Delivers one operation at a time per call (``deliver``); the worker calls it for as
    many customers side by side as it has room for."""

    def __init__(
        self,
        journal: Journal,
        handlers: Mapping[str, OperationHandler],
        settings: OutboxSettings,
        writes: JournalWrites,
        *,
        clock: Callable[[], float],
        rng: random.Random,
        on_settled: Callable[[Operation], Awaitable[None]],
        on_api_result: Callable[[LoyaltyApiError | None], None],
        on_key_refused: Callable[[LoyaltyApiError], None],
        backlog_step: Step = _no_wait,
    ) -> None:
        self._journal = journal
        self._handlers = dict(handlers)
        self._settings = settings
        self._writes = writes
        self._clock = clock
        self._rng = rng
        self._on_settled = on_settled
        self._on_api_result = on_api_result  # the till's health: is the API reachable?
        self._on_key_refused = on_key_refused
        self._backlog_step = backlog_step

    async def deliver(
        self, operation: Operation, *, backlog: bool = False, lane: Lane = KEEP
    ) -> None:
        """Send it, or reconcile it when its outcome is unknown. ``backlog``: no answered
        sale waits for it, and each of its steps gives way to the till's answers first.
        ``lane``: told when the delivery no longer needs its lane (``Lane``)."""
        step = self._backlog_step if backlog else _no_wait
        if operation.state is OperationState.UNKNOWN:
            await self._reconcile(operation, step)
        else:
            await self._send(operation, step, lane)

    async def _settle(
        self,
        operation_id: str,
        expected: OperationState,
        target: OperationState,
        *,
        now: float,
        refused: Callable[[], None] = _nothing,
        **changes: Unpack[OperationChanges],
    ) -> Operation:
        """Move the operation on (kept through a full disk: ``journal_writes.py``, which
        calls ``refused`` at the disk's first refusal) and tell whoever waits for it (a
        receipt, the POS screen): only after the commit."""
        moved = await self._writes.move(
            operation_id, expected, target, now=now, refused=refused, **changes
        )
        await self._on_settled(moved)
        return moved

    def _handler(self, operation: Operation) -> OperationHandler:
        return self._handlers[operation.kind]

    async def _send(self, operation: Operation, step: Step, lane: Lane) -> None:
        handler = self._handler(operation)
        try:
            await step(operation)
            # the steps that can apply nothing go first, while the operation is pending, and
            # are saved with in_flight: one commit, where each had one of its own
            prepared = await handler.prepare(operation) if isinstance(handler, Prepares) else None
        except NotPrepared as failed:
            self._on_api_result(failed.cause)
            cause = nothing_applied(failed.cause)
            await self._after_failure(operation, cause, OperationState.PENDING, failed.payload)
            return
        changes: OperationChanges = {} if prepared is None else {"payload": prepared}
        await step(operation)
        # in_flight is durable before the first request that can apply anything leaves
        sent = await self._journal.move(
            operation.id,
            OperationState.PENDING,
            OperationState.IN_FLIGHT,
            now=self._clock(),
            **changes,
        )
        progress = JournalProgress(self._journal, sent, self._clock)
        await step(sent)
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
        await step(sent)
        # The lane goes on while the done is written (``Lane``; docs/architecture.md, "A
        # lane does not wait for its done"): no await between ``free`` and the done's
        # place in the writer's queue, so whatever the lane starts next is queued after it.
        lane.free()
        await self._settle(
            sent.id,
            OperationState.IN_FLIGHT,
            OperationState.DONE,
            now=self._clock(),
            refused=lane.taken_again,
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
        if isinstance(exc, CredentialsRejected):
            self._on_key_refused(exc)
        changes: OperationChanges = {
            "next_attempt_at": now + delay,
            "last_error": describe_failure(exc),
        }
        if kept is not None:
            changes["payload"] = kept
        await self._settle(operation.id, expected, target, now=now, **changes)

    async def _reconcile(self, operation: Operation, step: Step) -> None:
        await step(operation)
        now = self._clock()
        handler = self._handler(operation)
        target, changes = await reconciled(
            handler, operation, self._settings, now, self._on_api_result
        )
        await self._settle(operation.id, OperationState.UNKNOWN, target, now=now, **changes)


async def nobody_waits(operation: Operation) -> None:
    """The default ``on_settled``: nothing to tell."""
