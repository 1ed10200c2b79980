"""A till that prints over a serial cable (``[passthrough] serial_device``: the till's
printer cable on a USB-serial adapter of the agent's machine). The line never closes, so a
job ends at a cut (the relay judges each cut as it comes) or after
``serial_idle_gap_s`` without a byte; the printer's answers go back down the line. The port
is opened by ``runtime/devices.py`` (the core does not import pyserial); an unplugged
adapter is opened again every few seconds, and the till meanwhile sees a silent printer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: between two attempts to open an adapter that is gone
REOPEN_S = 3.0


class SerialPort(Protocol):
    """What the relay uses of a pyserial ``Serial`` opened non-blocking (timeout 0)."""

    in_waiting: int

    def fileno(self) -> int: ...

    def read(self, size: int) -> bytes: ...

    def flush(self) -> None: ...

    def write(self, data: bytes) -> int | None: ...

    def close(self) -> None: ...


class LineEnd:
    """The serial line dressed as the till's socket for the relay's connection."""

    def __init__(self, port: SerialPort) -> None:
        self._port = port

    def fileno(self) -> int:
        return self._port.fileno()

    def recv(self, size: int) -> bytes:
        """What the line holds (select said it is readable); an unplugged adapter raises
        OSError (pyserial's SerialException is one), which ends the connection."""
        data = self._port.read(min(size, max(1, self._port.in_waiting)))
        if not data:
            raise ConnectionResetError("the serial line gave nothing: the adapter is gone")
        return data

    def sendall(self, data: bytes) -> None:
        self._port.write(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._port.close()


def serve_line(
    open_port: Callable[[], SerialPort], serve: Callable[[Any], None], stopped: threading.Event
) -> threading.Thread:
    """A thread that keeps the line open and hands it to ``serve`` (the relay's connection
    loop) until ``stopped``."""

    def keep() -> None:
        while not stopped.is_set():
            try:
                line = LineEnd(open_port())
            except OSError as exc:
                log.warning("passthrough: the till's serial line cannot be opened (%s)", exc)
                stopped.wait(REOPEN_S)
                continue
            started = time.monotonic()
            try:
                serve(line)
            finally:
                line.close()
            if time.monotonic() - started < REOPEN_S:
                stopped.wait(REOPEN_S)  # a line that fails at once is not opened in a loop

    thread = threading.Thread(target=keep, name="passthrough-serial", daemon=True)
    thread.start()
    return thread
