"""Readers and the watchdog: an open serial reader turns (on the event loop, every quarter
second at the latest) and says so; only an open reader that stopped turning keeps the
watchdog from being fed."""

from __future__ import annotations

import asyncio
import os
import time

from drivers.serial_reader import SerialReader
from register_agent.readers.reader import DeviceStatus, RawScan
from register_agent.runtime.sdnotify import READER_SILENCE_S, Heartbeat, beat_readers
from tests.support.reader_support import pty_pair, run, serial_config


def test_an_open_serial_reader_turns_without_scans() -> None:
    async def scenario() -> tuple[float | None, float | None]:
        with pty_pair() as (_, path):
            reader = SerialReader(serial_config("counter", path))
            await reader.open()

            async def first_scan() -> RawScan:
                return await anext(aiter(reader))

            reading = asyncio.create_task(first_scan())
            await asyncio.sleep(0.3)
            first = reader.status().alive_at
            await asyncio.sleep(0.6)
            later = reader.status().alive_at
            reading.cancel()
            await reader.close()
            return first, later

    first, later = run(scenario())
    assert first is not None
    assert later is not None
    assert later > first  # turned again while nobody scanned


class _Reader:
    def __init__(self, name: str, status: DeviceStatus) -> None:
        self.name = name
        self._status = status

    def status(self) -> DeviceStatus:
        return self._status


def test_only_an_open_reader_that_stopped_turning_goes_unfed() -> None:
    now = time.monotonic()
    readers = [
        _Reader("turning", DeviceStatus("turning", "ok", alive_at=now)),
        _Reader("hung", DeviceStatus("hung", "ok", alive_at=now - READER_SILENCE_S - 1)),
        _Reader("unplugged", DeviceStatus("unplugged", "down", "reopening", alive_at=now - 600)),
        _Reader("evdev", DeviceStatus("evdev", "ok")),  # no thread of its own
    ]
    clock = [0.0]
    heartbeat = Heartbeat(max_silence_s=10, clock=lambda: clock[0])
    for reader in readers:
        heartbeat.register(f"reader {reader.name}")
    clock[0] = 20.0
    beat_readers(readers, heartbeat)  # type: ignore[arg-type]
    assert heartbeat.silent_workers() == ["reader hung"]


def test_a_reader_whose_scans_are_not_taken_stops_turning() -> None:
    # Read on the event loop, a tty cannot hang its reader (its reads never wait); what
    # can is the scan's path past it, and then the reader stops turning, as a thread
    # stuck in a read did, and the watchdog hears of it.
    async def scenario() -> tuple[float | None, float | None]:
        with pty_pair() as (master, path):
            reader = SerialReader(serial_config("counter", path))
            await reader.open()
            scans = aiter(reader)
            os.write(master, b"HELD0001\r")
            await anext(scans)  # taken, and the next one never asked for
            held = reader.status().alive_at
            await asyncio.sleep(0.6)
            later = reader.status().alive_at
            await reader.close()
            return held, later

    held, later = run(scenario())
    assert held is not None
    assert later == held
