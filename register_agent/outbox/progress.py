"""The journal's side of one delivery, for the outbox worker (``worker.py``): a handler's
intermediate results saved in the operation's payload as they come (``Progress``), and a
failure described for the operation's ``last_error``.
"""

from __future__ import annotations

from collections.abc import Callable

from register_agent.journal import Journal, Operation, OperationState
from register_agent.journal.payloads import Payload


class JournalProgress:
    """Saves a handler's intermediate results (a POS transaction's uuid) in its payload."""

    def __init__(self, journal: Journal, operation: Operation, clock: Callable[[], float]):
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
