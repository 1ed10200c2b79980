"""The outbox's answer to an operation whose outcome is unknown: its handler reads whether
an earlier attempt landed (never sending), and the answer becomes the operation's next
move, which the worker makes (``worker.py``; why each move: docs/architecture.md, "Exactly
once", rule 3).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from register_agent.errors import LoyaltyApiError
from register_agent.journal import Operation, OperationChanges, OperationState
from register_agent.outbox.backoff import OutboxSettings, reconcile_delay
from register_agent.outbox.contract import Delivered, OperationHandler, Reconciled
from register_agent.outbox.journal_writes import describe_failure

log = logging.getLogger(__name__)

Move = tuple[OperationState, OperationChanges]


async def reconciled(
    handler: OperationHandler,
    operation: Operation,
    settings: OutboxSettings,
    now: float,
    on_api_result: Callable[[LoyaltyApiError | None], None],
) -> Move:
    """Where the unknown ``operation`` goes now, and what its move changes."""
    later = now + reconcile_delay(now - operation.created_at, settings)
    try:
        found = await handler.reconcile(operation)
    except Exception as exc:  # cannot tell yet (or a bug): look again later, not at once
        if not isinstance(exc, LoyaltyApiError):
            log.exception("reconciling operation %s failed unexpectedly", operation.id)
        else:
            on_api_result(exc)
        return OperationState.UNKNOWN, {
            "next_attempt_at": later,
            "last_error": describe_failure(exc),
        }
    on_api_result(None)  # its reads were answered: the API is there
    if isinstance(found, Delivered):
        return OperationState.DONE, {"server_ref": found.server_ref, "result": found.result}
    if found is Reconciled.NOT_APPLIED:
        return OperationState.PENDING, {"next_attempt_at": now}
    if found is Reconciled.NOT_YET:
        return OperationState.UNKNOWN, {
            "next_attempt_at": later,
            "last_error": "not found yet: it may still land",
        }
    return OperationState.REVIEW, {}
