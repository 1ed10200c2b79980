"""The workers' group: a worker that ends by itself is news that stops the agent; one the
agent cancels is not."""

from __future__ import annotations

import asyncio

import pytest

from register_agent.runtime.tasks import Tasks

pytestmark = pytest.mark.anyio


async def test_a_worker_that_dies_is_reported_to_the_agent() -> None:
    died: list[str] = []

    async def failing() -> None:
        raise OSError(28, "No space left on device")

    async def waiting() -> None:
        await asyncio.Event().wait()

    async with Tasks(on_death=died.append) as tasks:
        tasks.start("housekeeping", failing())
        tasks.start("outbox", waiting())
        await asyncio.sleep(0.05)
        assert died == ["housekeeping"]
    assert died == ["housekeeping"]  # the cancelled outbox is not a death


async def test_a_worker_that_returns_is_reported_too() -> None:
    died: list[str] = []

    async def done() -> None:
        return None

    async with Tasks(on_death=died.append) as tasks:
        tasks.start("watchdog", done())
        await asyncio.sleep(0.05)
    assert died == ["watchdog"]
