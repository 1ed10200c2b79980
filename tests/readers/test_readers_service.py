"""The reader loop: a broken driver or a failing consumer stops nothing but itself."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from drivers.keyboard_reader import KeyboardReader
from drivers.serial_reader import SerialReader
from drivers.virtual_reader import VirtualReader
from register_agent.config import AgentConfig
from register_agent.readers.reader import DeviceStatus, RawScan, Reader
from register_agent.readers.scans import Scan
from register_agent.runtime.devices import make_reader
from tests.support.reader_support import ReaderBench, pty_pair, run, serial_config

pytestmark = pytest.mark.timeout(10)


class BrokenReader:
    """A driver with a bug: one scan, then an exception nobody planned for."""

    name = "broken"

    def __init__(self) -> None:
        self.closed = False

    async def open(self) -> None:
        return None

    async def __aiter__(self) -> AsyncIterator[RawScan]:
        yield RawScan(b"BROKEN01", self.name, datetime.now(UTC))
        await asyncio.sleep(0.05)
        raise RuntimeError("driver bug")

    async def close(self) -> None:
        self.closed = True

    def status(self) -> DeviceStatus:
        return DeviceStatus(self.name, "down" if self.closed else "ok")


def test_a_driver_bug_and_a_consumer_bug_stop_only_themselves(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = BrokenReader()

    async def scenario() -> None:
        with pty_pair() as (master, path):

            async def picky(raw: RawScan) -> None:
                if raw.data == b"CARD0001":
                    raise ValueError("consumer bug")

            readers: list[Reader] = [broken, SerialReader(serial_config("front", path))]
            async with ReaderBench(readers, then=picky) as bench:
                await bench.ready("front")
                assert isinstance(first := await bench.next(), Scan)
                assert first.value == "BROKEN01"
                await asyncio.sleep(0.1)  # the broken reader is gone by now
                os.write(master, b"CARD0001\r")
                os.write(master, b"CARD0002\r")
                later = await bench.take(2)
                assert [o.value for o in later if isinstance(o, Scan)] == ["CARD0001", "CARD0002"]

    run(scenario())
    assert broken.closed
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "reader broken stopped; the other readers go on" in messages
    assert "reader front: handling a scan failed" in messages


def test_the_factory_picks_the_driver_by_kind() -> None:
    config = AgentConfig(
        readers=[
            {"kind": "serial", "name": "a", "port": "/dev/ttyACM0"},
            {"kind": "keyboard", "name": "b", "device": "/dev/input/event0"},
            {"kind": "virtual", "name": "c", "inject_socket": "/tmp/ra-c.sock"},  # noqa: S108
        ]
    )
    readers = [make_reader(reader) for reader in config.readers]
    assert [type(r) for r in readers] == [SerialReader, KeyboardReader, VirtualReader]
    assert [r.name for r in readers] == ["a", "b", "c"]
