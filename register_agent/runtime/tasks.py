"""The agent's background workers as one group (outbox, printer, readers, watchdog,
housekeeping): each started with the log fields it carries for its whole life, and on stop
cancelled and awaited newest first, so the parts stop in the reverse of their start.

A worker survives what it can expect (a failing disk, journal or device: each reports it
and tries again); one that ends anyway is a bug, and the group calls ``on_death``, which
brings the agent down loudly: never a dead worker while the agent says it is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from register_agent.common.logs import set_log_fields

#: the agent's own log: a worker's end is news of the agent, and its lines say so
log = logging.getLogger("register_agent.runtime.agent")


class Tasks(contextlib.AbstractAsyncContextManager["Tasks"]):
    """Background workers; on exit each is cancelled and awaited, newest first."""

    def __init__(self, on_death: Callable[[str], None] = lambda _: None) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        self._on_death = on_death

    def start(self, name: str, work: Coroutine[Any, Any, None], **log_fields: str) -> None:
        """Start ``work``; its log lines name ``log_fields`` (e.g. device="printer")."""
        context = contextvars.copy_context()
        context.run(set_log_fields, **log_fields)  # on for the task's whole life
        task = asyncio.create_task(work, name=name, context=context)
        task.add_done_callback(self._ended)
        self._tasks.append(task)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return  # the agent stops it
        failure = task.exception()
        if failure is not None:
            log.critical("worker %s died: %s", task.get_name(), failure, exc_info=failure)
        else:
            log.critical("worker %s ended by itself", task.get_name())
        self._on_death(task.get_name())

    async def __aexit__(self, *exc_info: object) -> None:
        for task in reversed(self._tasks):
            if task.done():
                continue  # its end was reported when it came (``_ended``)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def first_of(*waits: Coroutine[Any, Any, Any]) -> None:
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
