"""Wiring: the one core module that knows the drivers; it builds devices from config and runs them.

Readers: a table from ``kind`` to driver class, and a loop per reader that feeds the scan
pipeline. A reader that fails disables only itself; the others keep reading.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from drivers.keyboard_reader import KeyboardReader
from drivers.serial_reader import SerialReader
from drivers.virtual_reader import VirtualReader, inject
from register_agent.config import ReaderConfig, VirtualReaderConfig
from register_agent.devices import RawScan, Reader
from register_agent.errors import ReaderError
from register_agent.scans import Outcome, Reason, Rejection, ScanPipeline, mask

log = logging.getLogger(__name__)

#: ``[[readers]] kind`` -> driver. Adding a reader kind is one module and one line here.
READER_DRIVERS: dict[str, Callable[[Any], Reader]] = {
    "serial": SerialReader,
    "keyboard": KeyboardReader,
    "virtual": VirtualReader,
}

#: Unreadable scans in a row before the line settings are suspected.
GARBLED_STREAK = 3
_GARBLED = frozenset({Reason.INVALID_UTF8, Reason.CONTROL_CHARACTERS})

#: What happens to each outcome: the till takes scans, ``scan-test`` prints everything.
ScanHandler = Callable[[RawScan, Outcome], Awaitable[None]]


def make_reader(config: ReaderConfig) -> Reader:
    return READER_DRIVERS[config.kind](config)


def inject_scan(config: VirtualReaderConfig, data: bytes) -> None:
    """``register-agent scan``: hand bytes to the running agent's virtual reader."""
    inject(config.socket_path, data)


async def run_readers(
    readers: Sequence[Reader],
    pipeline: ScanPipeline,
    handle: ScanHandler,
    *,
    max_retry_s: float = 30.0,
) -> None:
    """Read every reader at once until cancelled; each one is opened, read and closed alone."""
    await asyncio.gather(
        *(run_reader(r, pipeline, handle, max_retry_s=max_retry_s) for r in readers)
    )


async def run_reader(
    reader: Reader, pipeline: ScanPipeline, handle: ScanHandler, *, max_retry_s: float = 30.0
) -> None:
    """Open (retrying: a reader may be plugged in after boot), read, and always close."""
    try:
        await _open(reader, max_retry_s)
        garbled = 0
        async for raw in reader:
            outcome = pipeline.process(raw)
            _log(outcome)
            garbled = _watch_line(reader.name, outcome, garbled)
            try:
                await handle(raw, outcome)
            except Exception:  # a consumer's bug must not stop the reader
                log.exception("reader %s: handling a scan failed", reader.name)
    except Exception:  # a broken driver disables only itself
        log.exception("reader %s stopped; the other readers go on", reader.name)
    finally:
        await reader.close()


async def _open(reader: Reader, max_retry_s: float) -> None:
    delay, reported = 0.5, False
    while True:
        try:
            await reader.open()
        except ReaderError as exc:
            if not reported:  # once: a missing scanner must not fill the journal
                log.warning("%s; retrying in the background", exc)
                reported = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_retry_s)
            continue
        if reported:
            log.warning("reader %s: opened, reading", reader.name)
        return


def _watch_line(reader: str, outcome: Outcome, garbled: int) -> int:
    """Count unreadable scans in a row; a streak means wrong line settings, which no test
    on a pseudo-terminal can catch (it ignores baud rate and parity)."""
    if not (isinstance(outcome, Rejection) and outcome.reason in _GARBLED):
        return 0
    if garbled + 1 == GARBLED_STREAK:
        log.warning(
            "reader %s: %d unreadable scans in a row; for a serial reader, check baudrate, "
            "parity, bytesize and stopbits against the reader's manual",
            reader,
            GARBLED_STREAK,
        )
    return garbled + 1


def _log(outcome: Outcome) -> None:
    if isinstance(outcome, Rejection):
        # Neutral reason and at most four printable characters: never the raw value.
        log.info(
            "reader %s: scan rejected, %s (ends %r)", outcome.reader, outcome.reason, outcome.tail
        )
    else:
        log.debug("reader %s: %s %s", outcome.reader, type(outcome).__name__, mask(outcome.value))
