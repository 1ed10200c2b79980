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

import concurrent.futures
import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from register_agent.config.passthrough import CutDialect
from register_agent.passthrough.figures import PassthroughCounters
from register_agent.passthrough.judge import Judge, Verdict
from register_agent.passthrough.printer_link import close_printer, open_printer
from register_agent.passthrough.serial_till import SerialPort, serve_line
from register_agent.passthrough.stream import JobStream

log = logging.getLogger(__name__)

_CHUNK = 65536


@dataclass(frozen=True)
class RelaySettings:
    listen: tuple[str, int]
    printer: tuple[str, int]
    connect_timeout_s: float = 2.0
    #: a till's job ends after this long without a byte (a till that keeps the connection)
    idle_s: float = 2.0
    cut_dialect: CutDialect = "epson"


class Relay:
    """Listens for the till; one thread per till connection."""

    def __init__(
        self,
        settings: RelaySettings,
        judge: Judge,
        counters: PassthroughCounters,
        printer_lock: Any,
    ) -> None:
        self.settings = settings
        self.judge = judge
        self.counters = counters
        self.printer_lock = printer_lock
        self._server: socket.socket | None = None
        self._open: set[Any] = set()
        self._guard = threading.Lock()
        self._stopped = threading.Event()

    def start(self) -> tuple[str, int]:
        host, port = self.settings.listen
        server = socket.create_server((host, port), reuse_port=False)
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
            _Connection(self, till, idle_s or self.settings.idle_s).run()
        except Exception:  # a bug here must not take the listener down
            log.exception("passthrough: a till connection failed")
        finally:
            with self._guard:
                self._open.discard(till)
            with contextlib.suppress(OSError):
                till.close()


class _Connection:
    """One till connection: its jobs, the printer connection while a job runs."""

    def __init__(self, relay: Relay, till: Any, idle_s: float) -> None:
        self._relay = relay
        self._till = till
        self._idle_s = idle_s
        self._printer: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        # the block's future rings this when it is done: no poll interval is added to a job
        self._bell, self._ringer = socket.socketpair()
        self._stream = JobStream(relay.settings.cut_dialect)
        self._job_start = 0  # where the current job starts in the stream
        self._decided = False  # a receipt of this job got its verdict at its cut
        self._till_open = True

    def run(self) -> None:
        self._selector.register(self._till, selectors.EVENT_READ)
        self._selector.register(self._bell, selectors.EVENT_READ)
        try:
            while self._till_open:
                timeout = self._idle_s if self._printer else None
                events = self._selector.select(timeout)
                if not events:
                    self._end_job()  # an idle gap ends the job and gives the printer back
                    continue
                for key, _ in events:
                    self._readable(key.fileobj)
            self._end_job()
        finally:
            self._release_printer()
            self._selector.close()
            self._bell.close()
            self._ringer.close()

    def _readable(self, source: Any) -> None:
        if source is self._bell:
            self._bell.recv(64)  # a late block's bell: nobody waits for it any more
            return
        if source is self._printer:
            self._from_printer()
            return
        try:
            chunk = self._till.recv(_CHUNK)
        except OSError:
            chunk = b""
        if not chunk:
            self._till_open = False
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self._till)
            return
        if self._printer is None and not self._take_printer():
            self._till_open = False  # no printer: the till sees it as a printer that is off
            return
        self._stream.feed(chunk)
        self._pump()

    def _from_printer(self) -> None:
        """The printer's answer goes to the till at once and unchanged."""
        assert self._printer is not None
        try:
            answer = self._printer.recv(_CHUNK)
        except OSError:
            answer = b""
        if not answer:  # the printer hung up: so does the till's job
            self._till_open = False
            self._release_printer()
            return
        self._to_till(answer)

    def _pump(self) -> None:
        """Send what may go; at a held cut, ask the judge and send its block first."""
        while True:
            self._send(self._stream.take())
            held = self._stream.held_cut
            if held is None:
                return
            start, end = held
            job, cut = bytes(self._stream.data[self._job_start : end]), start - self._job_start
            verdict = self._guarded(self._relay.judge.at_cut, job, cut, self._serve_until)
            self._send(verdict.insert)
            self._stream.release_cut()
            if verdict.closed:
                self._relay.counters.job_done(verdict.reason)
                self._job_start = end
                self._decided = True

    def _end_job(self) -> None:
        """The job's end: a receipt with no cut after it, the counters, the printer back."""
        self._send(self._stream.rest())
        job = bytes(self._stream.data[self._job_start :])
        if job.strip(b"\x00\n\r\x1b@"):
            if self._stream.lost is not None:
                verdict = Verdict(reason=self._stream.lost)
            else:
                verdict = self._guarded(self._relay.judge.at_end, job, self._serve_until)
            self._send(verdict.insert)
            # what follows a decided receipt's cut (a feed, a reset) is no job of its own
            if not (self._decided and verdict.reason == "no_text"):
                self._relay.counters.job_done(verdict.reason)
        self._decided = False
        self._release_printer()
        self._stream = JobStream(self._relay.settings.cut_dialect)
        self._job_start = 0

    def _guarded(self, decide: Any, *args: Any) -> Verdict:
        try:
            verdict: Verdict = decide(*args)
        except Exception:  # fail open, always
            log.exception("passthrough: the job is passed untouched after an error")
            self._stream.give_up("error")
            return Verdict(reason="error")
        return verdict

    def _serve_until(self, future: concurrent.futures.Future[Any], deadline: float) -> None:
        """While the block is made: the printer's answers go on to the till, and the till's
        real-time commands and drawer pulses to the printer, ahead of the held cut."""
        self._send(self._stream.urgent())  # those that came with the cut's own chunk
        future.add_done_callback(lambda _: self._ring())
        while not future.done():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            for key, _ in self._selector.select(left):
                if key.fileobj is self._bell:
                    self._bell.recv(64)
                    continue
                if key.fileobj is self._printer:
                    self._from_printer()
                    continue
                try:
                    chunk = self._till.recv(_CHUNK)
                except OSError:
                    chunk = b""
                if not chunk:
                    self._till_open = False
                    with contextlib.suppress(KeyError, ValueError):
                        self._selector.unregister(self._till)
                    continue
                self._stream.feed(chunk)
                self._send(self._stream.urgent())

    def _ring(self) -> None:
        with contextlib.suppress(OSError):  # the connection may have ended meanwhile
            self._ringer.send(b"!")

    def _send(self, data: bytes) -> None:
        if data and self._printer is not None:
            self._printer.sendall(data)

    def _take_printer(self) -> bool:
        settings = self._relay.settings
        lock = self._relay.printer_lock
        printer = open_printer(settings.printer, settings.connect_timeout_s, lock)
        if printer is None:
            self._relay.counters.job_done("printer_unreachable")
            return False
        self._printer = printer
        self._selector.register(printer, selectors.EVENT_READ)
        return True

    def _release_printer(self) -> None:
        if self._printer is None:
            return
        printer, self._printer = self._printer, None
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(printer)
        timeout = self._relay.settings.connect_timeout_s
        close_printer(printer, timeout, self._relay.printer_lock, self._to_till)

    def _to_till(self, answer: bytes) -> None:
        if self._till_open:
            with contextlib.suppress(OSError):
                self._till.sendall(answer)
