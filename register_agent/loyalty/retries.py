"""Deadlines and the client's inline retries: which failed call may be tried again at once.

The outbox owns persistent backoff; these retries only cover what may be repeated inside
one call (docs/architecture.md, "When something fails"): a GET on any transient failure; a
POST only when nothing was sent or on a 429 whose ``Retry-After`` fits the deadline; never a POST
whose bytes may have reached the server, never 60001, never a 4xx. Tests switch the waits
off with one call, :func:`set_testing` (as stamina does), and still see every attempt.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from register_agent.errors import NotApplied

Sleep = Callable[[float], Awaitable[None]]

#: attempts of one call, the first included
MAX_ATTEMPTS = 3
#: first backoff (seconds); doubles per attempt up to BACKOFF_CAP_S, with full jitter
BACKOFF_BASE_S = 0.1
BACKOFF_CAP_S = 1.0
#: time an attempt needs at least; a retry that would start later than this before the
#: deadline is not made
MIN_ATTEMPT_S = 0.05

_testing = False


def set_testing(testing: bool) -> None:
    """Switch the retry waits off (``True``) or back on; retries still happen and count."""
    global _testing  # noqa: PLW0603 (one process-wide switch, like stamina.set_testing)
    _testing = testing


async def sleep(seconds: float) -> None:
    """The retry wait; returns at once while :func:`set_testing` is on."""
    if not _testing:
        await asyncio.sleep(seconds)


@dataclass(frozen=True)
class Deadline:
    """A point in time (monotonic clock) by which a call, retries included, must be done."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())


def may_retry(method: str, error: BaseException) -> bool:
    """Whether the table allows trying ``method`` again after ``error`` within the call."""
    if not isinstance(error, NotApplied):
        # OutcomeUnknown (POST only: a failed GET is NotApplied), AlreadyApplied, Rejected
        return False
    if method == "GET":
        return True
    # a POST: only when nothing was sent (status 0) or the server throttled it (429);
    # a 503 goes back to the outbox, which backs off for longer than a cashier waits
    return error.status in (0, 429)


def backoff(attempt: int, error: BaseException | None) -> float:
    """The wait before attempt ``attempt + 1``: ``Retry-After`` when given, else jittered."""
    if isinstance(error, NotApplied) and error.retry_after is not None:
        # a little jitter on top so that tills throttled together do not return together
        return error.retry_after + random.uniform(0, 0.1)  # noqa: S311 (jitter, not crypto)
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    return random.uniform(0, ceiling)  # noqa: S311 (jitter, not crypto)


def next_wait(method: str, attempt: int, error: BaseException, deadline: Deadline) -> float | None:
    """The wait before trying again after ``attempt`` failed with ``error``, or None: the
    table forbids another attempt, attempts are used up, or it would not fit the deadline."""
    if not may_retry(method, error) or attempt >= MAX_ATTEMPTS:
        return None
    wait = backoff(attempt, error)
    if wait + MIN_ATTEMPT_S > deadline.remaining():
        return None
    return wait
