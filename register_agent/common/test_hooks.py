"""A test-only hook the outbox and printer workers pass through on every turn, so the
watchdog's tests can make one worker hang without touching the others.
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
