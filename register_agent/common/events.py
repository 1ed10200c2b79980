"""Events for the POS screen: scans, customers identified, plain scans, printer status,
operations settled. Each event gets an increasing id; the local API streams them as
server-sent events, and a POS that reconnects with ``Last-Event-ID`` gets what it missed
from a bounded backlog (older events are gone: it then re-reads the till's state).
"""

from __future__ import annotations

import asyncio
import functools
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
        self._changed = asyncio.Condition()

    @property
    def last_id(self) -> int:
        return self._backlog[-1].id if self._backlog else 0

    async def publish(self, kind: str, data: Mapping[str, Any]) -> Event:
        event = Event(next(self._ids), kind, dict(data), self._clock())
        async with self._changed:
            self._backlog.append(event)
            self._changed.notify_all()
        return event

    def _newer_than(self, event_id: int) -> bool:
        return self.last_id > event_id

    def since(self, last_seen: int) -> tuple[list[Event], bool]:
        """Events after ``last_seen``, and whether some were already dropped from the backlog."""
        missed = [event for event in self._backlog if event.id > last_seen]
        oldest = self._backlog[0].id if self._backlog else self.last_id + 1
        gap = last_seen + 1 < oldest and last_seen < self.last_id
        return missed, gap

    async def subscribe(self, last_seen: int = 0) -> AsyncIterator[Event]:
        """Every event after ``last_seen``, then new ones as they come, until cancelled."""
        while True:
            async with self._changed:
                await self._changed.wait_for(functools.partial(self._newer_than, last_seen))
            missed, _ = self.since(last_seen)
            for event in missed:
                last_seen = event.id
                yield event
