"""The relay's connection to the printer for one job (``relay.py``): taken under the lock
the agent's own printer driver holds while it prints a slip (one connection at a time, as a
printer's raw port takes them), and given back only after the printer has read the job to
its end.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

#: how long a till's job waits for the printer lock (a slip prints in well under this)
LOCK_WAIT_S = 30.0
_CHUNK = 65536


def open_printer(
    address: tuple[str, int], timeout_s: float, lock: threading.Lock
) -> socket.socket | None:
    """A connection to the printer, holding ``lock``; None (lock free) when it cannot be."""
    if not lock.acquire(timeout=LOCK_WAIT_S):
        log.error("passthrough: the printer stayed busy; the till's job is refused")
        return None
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
    printer: socket.socket, timeout_s: float, lock: threading.Lock, answers: Callable[[bytes], None]
) -> None:
    """End the job: the printer reads it to the end and closes; its last ``answers`` are
    passed on. Closing with answers unread would reset the connection, and a printer may
    drop what it has not printed yet."""
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
