"""The receipt pass-through's relay: the till prints to the agent as to a network printer
(raw TCP, port 9100 by default) and the agent forwards every job to the real printer, byte
for byte, adding the loyalty block before the cut of the customer's receipt.

It runs on threads of its own, never on the agent's event loop: a hung loyalty path (the
loop, the journal, the Register API) can delay a receipt by at most ``Judge.wait_s`` and
never stops printing. Whatever the printer sends back (status bytes, automatic status
back, XON/XOFF) goes to the till the moment it arrives, also while a cut is held.

Decision, the one printer shared with the agent's own slips (the printer worker's receipts,
claim and welcome slips): one connection at a time, as a network printer's raw port
accepts. Both take ``printer_lock`` (the driver's own lock, ``drivers/escpos_printer.py``)
for as long as they are connected: the relay from the first byte of a till's job to its
end (its connection closing, or ``idle_s`` without a byte), the worker for one slip. A slip
therefore waits for a till's job and prints between two of them, and the till never
finds its printer taken for longer than one slip. A till that keeps its connection open
between receipts gives the printer back after each idle gap.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from register_agent.config.passthrough import CutDialect
from register_agent.errors import ConfigError
from register_agent.passthrough.connection import TillConnection
from register_agent.passthrough.figures import PassthroughCounters
from register_agent.passthrough.judge import Deciding
from register_agent.passthrough.printer_link import PrinterTarget
from register_agent.passthrough.serial_till import SerialPort, serve_line

log = logging.getLogger(__name__)

_CHUNK = 65536


@dataclass(frozen=True)
class RelaySettings:
    listen: tuple[str, int]
    printer: PrinterTarget
    connect_timeout_s: float = 2.0
    #: a till's job ends after this long without a byte (a till that keeps the connection)
    idle_s: float = 2.0
    cut_dialect: CutDialect = "epson"


class Relay:
    """Listens for the till; one thread per till connection."""

    def __init__(
        self,
        settings: RelaySettings,
        judge: Deciding,
        counters: PassthroughCounters,
        printer_lock: Any,
        on_job: Callable[[bytes], None] | None = None,
    ) -> None:
        self.settings = settings
        self.judge = judge
        self.counters = counters
        self.printer_lock = printer_lock
        #: told each job's bytes as the till sent them, once the printer has it all
        #: (``passthrough-learn`` records the till's next job this way)
        self.on_job = on_job
        self._server: socket.socket | None = None
        self._open: set[Any] = set()
        self._guard = threading.Lock()
        self._stopped = threading.Event()

    def start(self) -> tuple[str, int]:
        host, port = self.settings.listen
        try:
            server = socket.create_server((host, port))
        except OSError as exc:  # systemd restarts the agent: the port may be free then
            raise ConfigError(
                f"passthrough.listen: cannot listen on {host}:{port} ({exc.strerror}); stop "
                "what uses the port (a register-agent passthrough-learn still running?) or "
                "choose another address"
            ) from exc
        self._server = server
        threading.Thread(target=self._accept, name="passthrough-listen", daemon=True).start()
        address = server.getsockname()
        log.info("passthrough: the till prints to %s:%d", address[0], address[1])
        return str(address[0]), int(address[1])

    def stop(self) -> None:
        self._stopped.set()
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        with self._guard:
            for connection in list(self._open):
                with contextlib.suppress(OSError, AttributeError):
                    connection.shutdown(socket.SHUT_RDWR)
        self.counters.flush()  # the last job's figures, for doctor and the status ticket

    def _accept(self) -> None:
        server = self._server
        while server is not None:
            try:
                till, _ = server.accept()
            except OSError:
                return  # stopped
            till.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(
                target=self._serve_safely, args=(till,), name="passthrough-job", daemon=True
            ).start()

    def serve_serial(self, open_port: Callable[[], SerialPort], idle_gap_s: float) -> None:
        """Also take jobs from a till on a serial line (``serial_till.py``)."""
        serve_line(open_port, lambda line: self._serve_safely(line, idle_gap_s), self._stopped)

    def _serve_safely(self, till: Any, idle_s: float | None = None) -> None:
        with self._guard:
            self._open.add(till)
        try:
            TillConnection(self, till, idle_s or self.settings.idle_s).run()
        except Exception:  # a bug here must not take the listener down
            log.exception("passthrough: a till connection failed")
        finally:
            with self._guard:
                self._open.discard(till)
            with contextlib.suppress(OSError):
                till.close()
