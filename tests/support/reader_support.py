"""Shared test pieces for the readers: real pseudo-terminals and a running scan pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from register_agent.config import ScansConfig, SerialReaderConfig
from register_agent.readers.reader import RawScan, Reader
from register_agent.readers.scans import Outcome, ScanPipeline
from register_agent.runtime.devices import run_readers

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T], timeout_s: float = 8.0) -> T:
    """Run one scenario on a fresh event loop; a hang fails after ``timeout_s``."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout_s):
            return await coroutine

    return asyncio.run(bounded())


@contextlib.contextmanager
def pty_pair() -> Iterator[tuple[int, str]]:
    """A raw pseudo-terminal: write scans to the master fd, open the path like a serial port."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        yield master, os.ttyname(slave)
    finally:
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def serial_config(name: str, port: str, **settings: Any) -> SerialReaderConfig:
    return SerialReaderConfig(kind="serial", name=name, port=port, **settings)


async def wait_until(check: Callable[[], bool], timeout_s: float = 3.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.01)


class ReaderBench:
    """Runs readers through a real pipeline in the background and collects the outcomes."""

    def __init__(
        self,
        readers: Sequence[Reader],
        scans: ScansConfig | None = None,
        *,
        clock: Callable[[], float] | None = None,
        reader_configs: Sequence[Any] = (),
        then: Callable[[RawScan], Awaitable[None]] | None = None,
    ) -> None:
        self.readers = readers
        self._then = then
        kwargs = {"clock": clock} if clock else {}
        self.pipeline = ScanPipeline(scans or ScansConfig(), reader_configs, **kwargs)
        self.outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self.raw: list[RawScan] = []
        self._task: asyncio.Task[None] | None = None

    async def _collect(self, raw: RawScan, outcome: Outcome) -> None:
        self.raw.append(raw)
        await self.outcomes.put(outcome)
        if self._then is not None:
            await self._then(raw)

    async def __aenter__(self) -> ReaderBench:
        self._task = asyncio.create_task(
            run_readers(self.readers, self.pipeline, self._collect, max_retry_s=0.2)
        )
        return self

    async def ready(self, *names: str) -> None:
        """Wait until the named readers (all when none named) are open."""
        wanted = [r for r in self.readers if not names or r.name in names]
        await wait_until(lambda: all(r.status().state == "ok" for r in wanted))

    async def next(self, timeout_s: float = 2.0) -> Outcome:
        return await asyncio.wait_for(self.outcomes.get(), timeout_s)

    async def take(self, count: int, timeout_s: float = 3.0) -> list[Outcome]:
        return [await self.next(timeout_s) for _ in range(count)]

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
