"""The outbox's "settled" signal: each time the outbox moves an operation on (delivered,
refused, to be tried again, unknown), it tells ``Settled``; the till waiting to answer the
POS and the printer waiting to print a slip wait on it instead of reading the journal over
and over. The runtime makes one and hands it to the outbox's hook, the till and the printer.

It remembers the last state it was told of each recent operation, and a wait looks there
first: an operation the outbox finished before anyone started waiting is not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Collection

from register_agent.journal import Operation, OperationState
from register_agent.journal.records import ACTIVE_STATES

#: how many operations' last states are kept: far more than wait at any one moment
REMEMBERED = 1024

Until = Callable[[OperationState], bool]


def attempt_ended(state: OperationState) -> bool:
    """The outbox's attempt has an outcome: done, refused, or not now (pending, unknown)."""
    return state is not OperationState.IN_FLIGHT


def finished(state: OperationState) -> bool:
    """Nothing more will happen to the operation by itself: done, dead, review, exported."""
    return state not in ACTIVE_STATES


class Settled:
    """Operations the outbox moved on, and a wait for them; see the module docstring."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._states: OrderedDict[str, OperationState] = OrderedDict()
        self._remembered = remembered
        self._waiting: dict[str, set[asyncio.Event]] = {}

    def notify(self, operation: Operation) -> None:
        """The outbox moved ``operation`` on: remember its state, wake whoever waits for it."""
        self._states[operation.id] = operation.state
        self._states.move_to_end(operation.id)
        while len(self._states) > self._remembered:
            self._states.popitem(last=False)
        for woken in self._waiting.get(operation.id, ()):
            woken.set()

    async def wait(
        self, operation_ids: Collection[str], timeout_s: float, *, until: Until = attempt_ended
    ) -> bool:
        """Whether one of ``operation_ids`` is, or within ``timeout_s`` comes to be, in a
        state ``until`` accepts (as the outbox last told)."""
        woken = asyncio.Event()
        for operation_id in operation_ids:
            self._waiting.setdefault(operation_id, set()).add(woken)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s  # monotonic
        try:
            while not self._told(operation_ids, until):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                woken.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), remaining)
            return True
        finally:
            self._forget(operation_ids, woken)

    def _told(self, operation_ids: Collection[str], until: Until) -> bool:
        states = (self._states.get(operation_id) for operation_id in operation_ids)
        return any(state is not None and until(state) for state in states)

    def _forget(self, operation_ids: Collection[str], woken: asyncio.Event) -> None:
        for operation_id in operation_ids:
            waiters = self._waiting.get(operation_id)
            if waiters is not None:
                waiters.discard(woken)
                if not waiters:
                    del self._waiting[operation_id]
