"""The outbox's real ``Settled`` signal, noting each wait asked of it: for how long, and
whether it ended because the outbox told (True) or because its time ran out (False). Tests
read what a waiter asked instead of timing it; ``clock`` may follow the waits asked."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from register_agent.outbox.settled import Settled


class WatchedSettled(Settled):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[float] = []  # each wait's timeout_s
        self.ended: list[bool] = []  # each wait's outcome
        self.waiting = asyncio.Event()  # set once a wait has begun
        self.now = 1000.0  # a monotonic clock moved on by each wait's full length

    def clock(self) -> float:
        return self.now

    async def wait(self, operation_ids: Collection[str], timeout_s: float, **kw: Any) -> bool:
        self.asked.append(timeout_s)
        self.waiting.set()
        told = await super().wait(operation_ids, timeout_s, **kw)
        self.ended.append(told)
        if not told:
            self.now += timeout_s  # ran out: as long as it asked, on the waiter's clock
        return told
