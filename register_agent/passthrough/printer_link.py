"""The relay's connection to the printer for one job (``relay.py``): taken under the lock
the agent's own printer driver holds while it prints a slip (one connection at a time, as a
printer's raw port takes them, and a serial line has one owner), and given back only after
the printer has read the job to its end.

A network printer is a socket; a serial printer (``[printer] kind = "serial"``) is its line,
opened for the job as the driver opens it for a slip, and read without blocking in the
same select loop (``PrinterLine``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from register_agent.passthrough.serial_till import LineEnd, SerialPort

log = logging.getLogger(__name__)

#: how long a till's job waits for the printer lock (a slip prints in well under this)
LOCK_WAIT_S = 30.0
_CHUNK = 65536


#: where the printer is: a network printer's address, or what opens its serial line
PrinterTarget = tuple[str, int] | Callable[[], SerialPort]


class PrinterLine(LineEnd):
    """A serial printer's line for one job, used as the relay uses a printer's socket."""

    def finish(self, answers: Callable[[bytes], None]) -> None:
        """The job's end: every byte written out to the printer (``flush`` waits for the
        line to drain), its last answers passed on, the line closed."""
        with contextlib.suppress(OSError):
            self._port.flush()
            if waiting := self._port.in_waiting:
                answers(self._port.read(waiting))
        self.close()


def open_printer(target: PrinterTarget, timeout_s: float, lock: threading.Lock) -> Any:
    """A connection to the printer (a socket, or a ``PrinterLine``), holding ``lock``; None
    (lock free) when it cannot be."""
    if not lock.acquire(timeout=LOCK_WAIT_S):
        log.error("passthrough: the printer stayed busy; the till's job is refused")
        return None
    if callable(target):
        try:
            return PrinterLine(target())
        except OSError as exc:
            lock.release()
            log.error("passthrough: the printer's serial line cannot be opened (%s)", exc)  # noqa: TRY400 (a state, not a bug)
            return None
    address = target
    try:
        printer = socket.create_connection(address, timeout_s)
    except OSError as exc:
        lock.release()
        log.error("passthrough: printer %s:%d cannot be reached (%s)", *address, exc)  # noqa: TRY400 (a state, not a bug)
        return None
    printer.settimeout(None)
    printer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return printer


def close_printer(
    printer: Any, timeout_s: float, lock: threading.Lock, answers: Callable[[bytes], None]
) -> None:
    """End the job: the printer reads it to the end and closes; its last ``answers`` are
    passed on. Closing with answers unread would reset the connection, and a printer may
    drop what it has not printed yet."""
    if isinstance(printer, PrinterLine):
        try:
            printer.finish(answers)
        finally:
            lock.release()
        return
    try:
        printer.shutdown(socket.SHUT_WR)
        printer.settimeout(timeout_s)
        with contextlib.suppress(TimeoutError):
            while answer := printer.recv(_CHUNK):
                answers(answer)
    except OSError:
        pass
    finally:
        printer.close()
        lock.release()
