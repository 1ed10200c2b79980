"""Where an operation goes after a failed attempt, and how long the outbox waits before it
tries again: a persistent backoff with full jitter, so many tills coming back after an
outage never retry in step, and a slower look at an old operation whose outcome nothing
could tell yet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from register_agent.errors import (
    AlreadyApplied,
    CredentialsRejected,
    LoyaltyApiError,
    NotApplied,
    OutcomeUnknown,
    Rejected,
)
from register_agent.journal import OperationState


@dataclass(frozen=True)
class OutboxSettings:
    concurrency: int = 4
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    unknown_delay_s: float = 5.0
    idle_poll_s: float = 0.5


def backoff_delay(attempts: int, settings: OutboxSettings, rng: random.Random) -> float:
    """Exponential backoff with full jitter: many tills coming back never retry in step."""
    ceiling = min(settings.backoff_max_s, settings.backoff_base_s * 2 ** max(0, attempts - 1))
    return rng.uniform(ceiling / 2, ceiling)


def reconcile_delay(age_s: float, settings: OutboxSettings) -> float:
    """How long an operation that could not be cleared up yet waits before the next look:
    a quarter of its age, within the backoff's bounds, so an old puzzle is not asked about
    every few seconds for days."""
    return min(settings.backoff_max_s, max(settings.backoff_base_s, age_s / 4))


def after_failure(
    attempts: int, exc: LoyaltyApiError, settings: OutboxSettings, rng: random.Random
) -> tuple[OperationState, float]:
    """Where an operation goes after a failure, and when it is looked at again (the outbox's
    side of the failure table in docs/architecture.md)."""
    if isinstance(exc, AlreadyApplied):
        return OperationState.UNKNOWN, 0.0  # reconciliation fetches the result
    if isinstance(exc, OutcomeUnknown):
        return OperationState.UNKNOWN, settings.unknown_delay_s
    if isinstance(exc, CredentialsRejected):
        return OperationState.PENDING, 0.0
    if isinstance(exc, Rejected):
        return OperationState.DEAD, 0.0
    delay = backoff_delay(attempts, settings, rng)
    if isinstance(exc, NotApplied) and exc.retry_after is not None:
        delay = max(delay, exc.retry_after)
    return OperationState.PENDING, delay


def nothing_applied(exc: LoyaltyApiError) -> LoyaltyApiError:
    """A failure of a step that can apply nothing (``Prepares``): whatever its answer, the
    operation provably did not land, so an unknown outcome is tried again like one that was
    not sent (never reconciled: there is nothing to look for)."""
    if isinstance(exc, NotApplied | Rejected):
        return exc
    return NotApplied(f"nothing was applied: {exc}", status=exc.status, code=exc.code)
