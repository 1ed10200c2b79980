"""Events for the POS screen: scans, customers identified, plain scans, printer status,
operations settled. Each event gets an increasing id; the local API streams them as
server-sent events, and a POS that reconnects with ``Last-Event-ID`` gets what it missed
from a bounded backlog (older events are gone: it then re-reads the till's state).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    id: int
    kind: str  # "scan", "customer", "plain_scan", "printer", "operation", ...
    data: Mapping[str, Any]
    at: float


class EventBus:
    """Publish from anywhere on the event loop; any number of subscribers read in order."""

    def __init__(self, backlog: int = 1000, clock: Callable[[], float] = time.time) -> None:
        self._backlog: deque[Event] = deque(maxlen=backlog)
        self._ids = itertools.count(1)
        self._clock = clock
        # One future per waiting reader, resolved by the next publish: the reader's task
        # wakes straight from it, one turn of the loop after the publish (a Condition
        # made it take its lock again first, a turn behind whatever the publisher started).
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def last_id(self) -> int:
        return self._backlog[-1].id if self._backlog else 0

    async def publish(self, kind: str, data: Mapping[str, Any]) -> Event:
        event = Event(next(self._ids), kind, dict(data), self._clock())
        self._backlog.append(event)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():  # a reader that gave up waiting (cancelled) is skipped
                waiter.set_result(None)
        return event

    def changed(self) -> asyncio.Future[None]:
        """A future the next publish resolves; await it directly to wake at once."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a quiet till publishes nothing for hours: the waits its streams gave up (keep-alive
        # timers, closed connections) go here rather than at the next publish
        self._waiters = [*(w for w in self._waiters if not w.done()), waiter]
        return waiter

    def since(self, last_seen: int) -> tuple[list[Event], bool]:
        """Events after ``last_seen``, and whether some were already dropped from the backlog."""
        missed = [event for event in self._backlog if event.id > last_seen]
        oldest = self._backlog[0].id if self._backlog else self.last_id + 1
        gap = last_seen + 1 < oldest and last_seen < self.last_id
        return missed, gap

    async def subscribe(self, last_seen: int = 0) -> AsyncIterator[Event]:
        """Every event after ``last_seen``, then new ones as they come, until cancelled."""
        while True:
            if self.last_id <= last_seen:
                await self.changed()
            missed, _ = self.since(last_seen)
            for event in missed:
                last_seen = event.id
                yield event
