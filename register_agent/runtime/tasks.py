"""The agent's background workers as one group (outbox, printer, readers, watchdog,
housekeeping): each started with the log fields it carries for its whole life, and on stop
cancelled and awaited newest first, so the parts stop in the reverse of their start.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Coroutine
from typing import Any

from register_agent.common.logs import set_log_fields

#: the agent's own log: a worker's end is news of the agent, and its lines say so
log = logging.getLogger("register_agent.runtime.agent")


class Tasks(contextlib.AbstractAsyncContextManager["Tasks"]):
    """Background workers; on exit each is cancelled and awaited, newest first."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, name: str, work: Coroutine[Any, Any, None], **log_fields: str) -> None:
        """Start ``work``; its log lines name ``log_fields`` (e.g. device="printer")."""
        context = contextvars.copy_context()
        context.run(set_log_fields, **log_fields)  # on for the task's whole life
        task = asyncio.create_task(work, name=name, context=context)
        task.add_done_callback(_report_end)
        self._tasks.append(task)

    async def __aexit__(self, *exc_info: object) -> None:
        for task in reversed(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("worker %s stopped: %s", task.get_name(), task.exception())


async def first_of(*waits: Coroutine[Any, Any, Any]) -> None:
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
