"""Test-only hooks the outbox and printer workers pass through on every turn: a hang, so
the watchdog's tests can make one worker hang without touching the others, and a pause at
a named point, so a test can hold a race's window open on a real agent process.
"""

from __future__ import annotations

import asyncio
import logging
import os

log = logging.getLogger(__name__)

#: test-only: names a worker ("outbox", "printer") whose loop blocks for ever
HANG_ENV = "REGISTER_AGENT_HANG_WORKER"


async def hang_point(worker: str) -> None:
    """Test-only, like the outbox's crash points: when ``$REGISTER_AGENT_HANG_WORKER``
    names ``worker``, its loop blocks here for ever (without blocking the event loop), so a
    test can see that one hung worker stops the watchdog pings. Never set it on a till."""
    if os.environ.get(HANG_ENV) == worker:
        log.warning("%s=%s: the %s worker hangs now, as a test asked", HANG_ENV, worker, worker)
        await asyncio.Event().wait()


#: test-only: names a point (``pause_point``) where the worker waits PAUSE_S seconds
PAUSE_ENV = "REGISTER_AGENT_PAUSE_AT"
PAUSE_SECONDS_ENV = "REGISTER_AGENT_PAUSE_S"


async def pause_point(name: str) -> None:
    """Test-only: when ``$REGISTER_AGENT_PAUSE_AT`` names this point, wait there
    ``$REGISTER_AGENT_PAUSE_S`` seconds (1 by default) without blocking the event loop, so
    what runs beside it (another task's end) happens inside the window. Never set on a till."""
    if os.environ.get(PAUSE_ENV) == name:
        await asyncio.sleep(float(os.environ.get(PAUSE_SECONDS_ENV, "1")))
