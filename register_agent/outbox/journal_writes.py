"""The outbox's writes to the journal: the moves that settle an operation, kept through a
full disk, a handler's intermediate results (``JournalProgress``), and a failure described
for the operation's ``last_error``.

An answer of the Register API in hand must reach the journal: when the disk is full the
move is tried again, with a backoff, until it has space. The operation stays busy in the
worker meanwhile, so it is never sent again; should the agent stop first, the journal
still has it ``in_flight`` (or ``unknown``) and it is reconciled after the restart. The
start's own recovery (``in_flight`` becomes ``unknown``) waits for space the same way, so
a full disk does not keep the agent from starting. A damaged journal is not waited for:
nothing will be written until an operator acts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Unpack

from register_agent.common.faults import WorkerFaults
from register_agent.errors import JournalError, JournalUnavailable
from register_agent.journal import Journal, Operation, OperationChanges, OperationState
from register_agent.journal.payloads import Payload

WORKER = "outbox"
#: a journal that takes no writes is tried again after this, doubling up to JOURNAL_MAX_S
JOURNAL_RETRY_S = 0.5
JOURNAL_MAX_S = 10.0


class JournalWrites:
    """The outbox's moves, tried again through a full disk; its fault in ``status``."""

    def __init__(
        self, journal: Journal, faults: WorkerFaults, stopping: Callable[[], bool]
    ) -> None:
        self._journal = journal
        self._faults = faults
        self._stopping = stopping

    async def move(
        self,
        operation_id: str,
        expected: OperationState,
        target: OperationState,
        *,
        now: float,
        refused: Callable[[], None] = lambda: None,
        **changes: Unpack[OperationChanges],
    ) -> Operation:
        """The move, tried again while the disk is full; ``refused`` is called at the
        first refusal (the caller's order of writes is lost from there on)."""
        first = True
        while True:
            try:
                moved = await self._journal.move(operation_id, expected, target, now=now, **changes)
            except JournalUnavailable as exc:
                if first:
                    refused()
                    first = False
                if exc.kind != "disk_full" or self._stopping():
                    raise
                await asyncio.sleep(self.failed(exc))
                continue
            self.ok()
            return moved

    async def recover(self, now: float) -> int | None:
        """``Journal.recover_after_restart``; None while the disk is full."""
        try:
            return await self._journal.recover_after_restart(now)
        except JournalUnavailable as exc:
            if exc.kind != "disk_full":
                raise
            self.failed(exc)
            return None

    def failed(self, exc: JournalError) -> float:
        """Report the journal's refusal (status, the log once); the pause before the next try."""
        problem = f"the journal takes no writes ({exc})"
        return self._faults.report(WORKER, problem, first_s=JOURNAL_RETRY_S, max_s=JOURNAL_MAX_S)

    def ok(self) -> None:
        """The journal took the outbox's write (or answered its question) again."""
        self._faults.clear(WORKER)


class JournalProgress:
    """Saves a handler's intermediate results (a POS transaction's uuid) in its payload."""

    def __init__(
        self, journal: Journal, operation: Operation, clock: Callable[[], float] = time.time
    ):
        self._journal = journal
        self._clock = clock
        self.operation = operation

    async def save(self, payload: Payload) -> None:
        self.operation = await self._journal.move(
            self.operation.id,
            OperationState.IN_FLIGHT,
            OperationState.IN_FLIGHT,
            now=self._clock(),
            payload=payload,
        )


def describe_failure(exc: Exception) -> str:
    code_value = getattr(exc, "code", None)
    code = f" (code {code_value})" if code_value is not None else ""
    return f"{type(exc).__name__}{code}: {exc}"
