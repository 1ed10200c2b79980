"""How long the outbox waits before it tries an operation again: a persistent backoff with
full jitter, so many tills coming back after an outage never retry in step, and a slower
look at an old operation whose outcome nothing could tell yet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


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
