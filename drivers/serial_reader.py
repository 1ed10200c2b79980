"""Serial barcode and NFC readers (USB-CDC, FTDI, RS-232) through pyserial.

A port with a file descriptor (a tty: USB-CDC, FTDI, RS-232, a pty) is read on the event
loop: the loop's selector watches it and the bytes are read, non-blocking, in the turn it
becomes readable, so a scan reaches the pipeline without a thread's wake-up and a hand-over
to the loop. Opening and closing (which a USB adapter can make slow) run on the reader's
own thread, as do the blocking reads of a port given as a pyserial URL (no descriptor).
An unplugged reader is reported once, reopened with capped backoff when its path returns,
and nothing else in the agent notices.

Plain pyserial rather than pyserial-asyncio-fast: a scan every few seconds needs no
asyncio transport, and one less dependency is one less thing to break on a till. Reads
take what the port holds at once (not one syscall per byte like ``read_until``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

import serial

from drivers.line_framer import LineFramer
from register_agent.config import SerialReaderConfig
from register_agent.errors import ReaderError
from register_agent.readers.reader import DeviceStatus, RawScan

log = logging.getLogger(__name__)
T = TypeVar("T")

_PARITY = {
    "none": serial.PARITY_NONE,
    "even": serial.PARITY_EVEN,
    "odd": serial.PARITY_ODD,
    "mark": serial.PARITY_MARK,
    "space": serial.PARITY_SPACE,
}
_FIXES = {
    errno.ENOENT: "plug the reader in, or correct its port in the config",
    errno.EACCES: "give the agent's user access to the port (e.g. the dialout group)",
    errno.EBUSY: "another program holds the port; stop it (ModemManager, a terminal)",
    errno.EAGAIN: "another program holds the port; stop it (ModemManager, a terminal)",
}


def describe(exc: BaseException) -> str:
    """The cause of a serial failure with its fix, for the log and ``status``."""
    code = getattr(exc, "errno", None)
    fix = _FIXES.get(code) if isinstance(code, int) else None
    return f"{exc}; {fix or 'check the cable and the port settings'}"


class SerialReader:
    """One serial reader; iterate it for ``RawScan`` frames until ``close()``."""

    def __init__(
        self,
        config: SerialReaderConfig,
        *,
        first_retry_s: float = 0.2,
        max_retry_s: float = 5.0,
    ) -> None:
        self._config = config
        self._first_retry_s = first_retry_s
        self._max_retry_s = max_retry_s
        self._port: serial.Serial | None = None
        self._closed = asyncio.Event()
        self._status = DeviceStatus(config.name, "down", "not opened yet")
        self._alive_at: float | None = None
        self._waiting: asyncio.Future[bool] | None = None  # the loop's wait for the port
        self._watched: int | None = None  # the descriptor the loop's selector watches
        # One thread per reader: a stuck port never starves another reader's reads.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"reader-{config.name}")

    @property
    def name(self) -> str:
        return self._config.name

    def status(self) -> DeviceStatus:
        return dataclasses.replace(self._status, alive_at=self._alive_at)

    async def open(self) -> None:
        try:
            await self._run(self._open_port)
        except (serial.SerialException, OSError) as exc:
            self._status = DeviceStatus(self.name, "down", f"{self._config.port}: {describe(exc)}")
            raise ReaderError(
                f"reader {self.name}: cannot open {self._config.port}: {describe(exc)}",
                device=self.name,
            ) from exc
        self._status = DeviceStatus(self.name, "ok")

    async def __aiter__(self) -> AsyncIterator[RawScan]:
        framer = LineFramer(
            terminated=self._config.terminator == "auto", gap_s=self._config.inter_char_timeout_s
        )
        while not self._closed.is_set():
            try:
                chunk = await self._next_chunk()
                self._alive_at = time.monotonic()  # reads end every 0.25 s at the latest
            except (serial.SerialException, OSError) as exc:
                if self._closed.is_set():
                    break
                await self._reconnect(exc)
                continue
            for frame in framer.feed(chunk, time.monotonic()):
                yield RawScan(frame, self.name, datetime.now(UTC))

    async def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._unwatch()  # before the thread closes the descriptor the selector watches
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(False)  # wakes the iteration waiting on the loop
        port = self._port
        if port is not None and port.is_open:
            port.cancel_read()  # wakes a read blocked in the reader's thread at once
        await self._run(self._close_port)
        self._thread.shutdown(wait=False)
        self._status = DeviceStatus(self.name, "down", "closed")

    async def _reconnect(self, cause: BaseException) -> None:
        """Report the loss once, then reopen with capped backoff until the path is back."""
        detail = f"{self._config.port} disconnected: {describe(cause)}; reopening automatically"
        log.warning("reader %s: %s", self.name, detail)
        self._status = DeviceStatus(self.name, "down", detail)
        await self._run(self._close_port)
        delay = self._first_retry_s
        while not await self._sleep(delay):
            try:
                await self._run(self._open_port)
            except (serial.SerialException, OSError) as exc:
                log.debug("reader %s: still away (%s)", self.name, exc)
                delay = min(delay * 2, self._max_retry_s)
                continue
            log.warning("reader %s: %s is back, reading again", self.name, self._config.port)
            self._status = DeviceStatus(self.name, "ok")
            return

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True when the reader was closed meanwhile."""
        try:
            await asyncio.wait_for(self._closed.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def _next_chunk(self) -> bytes:
        """What the port holds once it is readable, or b"" after a quarter second at most
        (the framer's quiet gap and ``alive_at`` need the turn)."""
        port = self._port
        if port is None or not port.is_open:
            raise serial.SerialException("port not open")
        fd = _descriptor(port)
        if fd is None:
            return await self._run(self._read_chunk)
        loop = asyncio.get_running_loop()
        self._waiting = waiting = loop.create_future()
        timer = loop.call_later(_read_timeout(self._config), _resolve, waiting, False)
        loop.add_reader(fd, _resolve, waiting, True)
        self._watched = fd
        try:
            readable = await waiting
        finally:
            timer.cancel()
            self._unwatch()
        return _read_ready(fd) if readable and not self._closed.is_set() else b""

    def _unwatch(self) -> None:
        if self._watched is not None:
            asyncio.get_running_loop().remove_reader(self._watched)
            self._watched = None

    # --- on the reader's thread ---

    def _open_port(self) -> None:
        config = self._config
        port = serial.serial_for_url(
            config.port,
            baudrate=config.baudrate,
            parity=_PARITY[config.parity],
            bytesize=config.bytesize,
            stopbits=config.stopbits,
            # Short reads keep the framer's quiet-gap clock ticking.
            timeout=_read_timeout(config),
            exclusive=config.exclusive,
        )
        _assert_dtr(port, self.name)
        self._port = port

    def _read_chunk(self) -> bytes:
        port = self._port
        if port is None or not port.is_open:
            raise serial.SerialException("port not open")
        data = bytes(port.read(1))
        waiting: int = port.in_waiting if data else 0
        return data + bytes(port.read(waiting)) if waiting else data

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                log.debug("reader %s: closing: %s", self.name, exc)


def _read_timeout(config: SerialReaderConfig) -> float:
    return min(config.inter_char_timeout_s / 2, 0.25)


def _descriptor(port: serial.Serial) -> int | None:
    """The port's descriptor, non-blocking; None for a URL port without one (rfc2217://)."""
    fileno = getattr(port, "fileno", None)
    if fileno is None:
        return None
    fd: int = fileno()
    os.set_blocking(fd, False)  # pyserial opens it so; a read on the loop must never wait
    return fd


def _resolve(waiting: asyncio.Future[bool], readable: bool) -> None:
    """``readable``: the selector saw the port readable (False: the quarter second passed)."""
    if not waiting.done():
        waiting.set_result(readable)


def _read_ready(fd: int) -> bytes:
    """One non-blocking read; a port readable but empty is gone, as pyserial judges it."""
    try:
        data = os.read(fd, 4096)
    except BlockingIOError:  # another reader of the same tty took the bytes first
        return b""
    if not data:
        # An unplugged USB adapter stays readable and reads nothing (a pty's other side
        # gone gives EIO instead, raised as it is): both end in a reopen.
        raise serial.SerialException("device reports readiness to read but returned no data")
    return data


def _assert_dtr(port: serial.Serial, name: str) -> None:
    """Raise DTR: some CDC scanners stay silent until the host says it is ready.

    A pseudo-terminal (the virtual reader) has no modem lines: ioctl gives ENOTTY/EINVAL.
    """
    try:
        port.dtr = True
    except (OSError, serial.SerialException) as exc:
        if getattr(exc, "errno", None) not in (errno.ENOTTY, errno.EINVAL, None):
            raise
        log.debug("reader %s: no modem lines on this port (%s)", name, exc)
