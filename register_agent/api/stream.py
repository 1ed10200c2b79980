"""``GET /v1/events``: the till's event bus as server-sent events for the POS screen, with
``Last-Event-ID`` resumption, keep-alive comments, a ``gap`` event when the backlog lost
events, and a prompt end when the local API stops.

Event ids are ``<run>-<n>``: ``n`` counts the bus's events and ``run`` names this run of
the agent, so a POS that reconnects after a restart (when ``n`` starts again at 1) is told
of the gap instead of silently skipping events.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from pydantic_core import to_json

from register_agent.common.events import Event, EventBus

#: how long a quiet stream waits before a keep-alive comment (proxies and POS clients
#: drop connections that stay silent for 30 to 60 s)
KEEPALIVE_S = 15.0
#: how soon a dropped EventSource client reconnects, in milliseconds
RETRY_MS = 2000

# One run name per bus: an app rebuilt on reload around the same bus keeps the same ids.
_runs: weakref.WeakKeyDictionary[EventBus, str] = weakref.WeakKeyDictionary()


def run_of(bus: EventBus) -> str:
    return _runs.setdefault(bus, secrets.token_hex(4))


class StreamGate:
    """Closed once, at shutdown: every open event stream then ends."""

    def __init__(self) -> None:
        self.closed = asyncio.Event()
        self._waiting: set[asyncio.Future[None]] = set()

    def close(self) -> None:
        self.closed.set()
        for waiting in self._waiting:  # the streams waiting for an event wake now
            _resolve(waiting)

    async def wait(self, change: asyncio.Future[None], keepalive_s: float) -> None:
        """Until ``change`` resolves (an event), the gate closes, or ``keepalive_s`` passes.

        The stream's task awaits the bus's future itself, and the gate and the keep-alive
        timer resolve that same future: a publish wakes the stream on the loop's next turn,
        ahead of the work the publisher goes on with (the scan desk's balance and reward
        reads), where a task per wait and ``asyncio.wait`` took three turns.
        """
        timer = asyncio.get_running_loop().call_later(keepalive_s, _resolve, change)
        self._waiting.add(change)
        try:
            await change
        finally:
            timer.cancel()
            self._waiting.discard(change)


def _resolve(waiting: asyncio.Future[None]) -> None:
    if not waiting.done():
        waiting.set_result(None)


def close_streams(app: FastAPI) -> None:
    """End the event streams of ``app`` (the server's stop calls this before it waits)."""
    gate = getattr(app.state, "event_streams", None)
    if isinstance(gate, StreamGate):
        gate.close()


@dataclass(frozen=True)
class Cursor:
    """Where a stream starts: after ``last_seen``; ``gap``: events may be lost before it."""

    last_seen: int
    gap: bool


def cursor_for(bus: EventBus, last_event_id: str | None) -> Cursor:
    """No id: live events only, from now. An id of this run: what came after it. An id of
    another run (the agent restarted) or an unreadable one: a gap, then this run's backlog.
    """
    if last_event_id is None or not last_event_id.strip():
        return Cursor(bus.last_id, gap=False)
    run, _, number = last_event_id.strip().rpartition("-")
    if run != run_of(bus) or not number.isdigit() or int(number) > bus.last_id:
        return Cursor(0, gap=True)
    return Cursor(int(number), gap=False)


def _frame(event: Event, run: str) -> str:
    data = to_json(dict(event.data)).decode()  # JSON escapes newlines: one data line
    return f"id: {run}-{event.id}\nevent: {event.kind}\ndata: {data}\n\n"


def _gap_frame(after: str | None) -> str:
    data: dict[str, Any] = {
        "message": "some events were lost; read GET /v1/customer and GET /v1/status again",
        "last_event_id": after,
    }
    # No id: a client that reconnects now still names the last event it really got.
    return f"event: gap\ndata: {to_json(data).decode()}\n\n"


async def event_frames(
    bus: EventBus, cursor: Cursor, gate: StreamGate, after: str | None, keepalive_s: float
) -> AsyncIterator[str]:
    """The stream's text: an opening comment, the missed events, then live ones, until the
    gate closes."""
    run = run_of(bus)
    yield f": register-agent events\nretry: {RETRY_MS}\n\n"
    if cursor.gap:
        yield _gap_frame(after)
    # Ids are consecutive, so a jump means the backlog dropped events this client needed
    # (a reconnect too late, or a client reading slower than the till publishes).
    expected = None if cursor.gap else cursor.last_seen + 1
    last_seen = cursor.last_seen
    while not gate.closed.is_set():
        missed, _ = bus.since(last_seen)
        if not missed:
            await gate.wait(bus.changed(), keepalive_s)
            if not gate.closed.is_set() and bus.last_id <= last_seen:
                yield ": keep-alive\n\n"  # woken by the timer: nothing was published
            continue
        for event in missed:
            if expected is not None and event.id > expected:
                yield _gap_frame(f"{run}-{expected - 1}")
            expected, last_seen = event.id + 1, event.id
            yield _frame(event, run)
