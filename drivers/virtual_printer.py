"""A virtual network receipt printer on loopback: the printer of the demo and the tests.

It listens like a port-9100 printer, records every job's bytes (one job = one connection,
as python-escpos' Network sends them), answers ``DLE EOT n`` status queries from a state the
test or the demo switches, and behaves like a real printer when the paper runs out: what it
receives then is held in its buffer and printed when the state returns to ok.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from drivers.escpos_text import TextReceipts
from drivers.loopback_server import (
    ControlHandler,
    LoopbackServer,
    close_quietly,
    split_queries,
)

log = logging.getLogger(__name__)


class VirtualState(StrEnum):
    """The state the virtual printer reports (and prints in)."""

    OK = "ok"
    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    #: never answers a status query and prints nothing (a hung printer, a wrong device)
    SILENT = "silent"


#: the answers of an Epson TM printer to DLE EOT 1, 2, 3, 4 in each state (as measured)
STATUS_ANSWERS: dict[VirtualState, bytes] = {
    VirtualState.OK: bytes.fromhex("16121212"),
    VirtualState.PAPER_NEAR_END: bytes.fromhex("1612121e"),
    VirtualState.PAPER_OUT: bytes.fromhex("1e321272"),
    VirtualState.COVER_OPEN: bytes.fromhex("1e161212"),
    VirtualState.OFFLINE: bytes.fromhex("1e121212"),
}

_PRINTING_STATES = (VirtualState.OK, VirtualState.PAPER_NEAR_END)


@dataclass
class _Job:
    received: bytearray
    printed_upto: int = 0
    closed: bool = False
    shown: bool = False  # written out as text


@dataclass(frozen=True)
class PrintJob:
    """A snapshot of one job: every byte received (status queries left out), and how much of
    it has come out of the printer."""

    data: bytes
    printed: bytes
    closed: bool

    @property
    def complete(self) -> bool:
        """The connection ended and every byte of it is printed."""
        return self.closed and self.printed == self.data

    @property
    def held(self) -> bytes:
        """Bytes received but not printed yet (paper out, cover open, offline)."""
        return self.data[len(self.printed) :]


class VirtualPrinter:
    """The printer; ``start()`` it (or use ``with``), switch ``state``, read ``jobs()``."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, receipts: TextReceipts | None = None
    ) -> None:
        self._address = (host, port)
        self._receipts = receipts  # where each finished job goes as text (run --sandbox)
        self._lock = threading.Condition()
        self._state = VirtualState.OK
        self._jobs: list[_Job] = []
        self._paper_left: int | None = None
        self._connections: set[socket.socket] = set()
        self._server: LoopbackServer | None = None
        self._control: LoopbackServer | None = None
        self.status_queries = 0
        #: every connection opened to it, a status check alone or a job
        self.connections = 0

    # --- life -----------------------------------------------------------------------------

    def start(self) -> VirtualPrinter:
        """Listen on loopback; ``port`` 0 picks a free port (see ``address``)."""
        self._server = LoopbackServer(self._address, self)
        self._server.serve_in_thread("virtual-printer")
        log.info("virtual printer listening on %s:%d", *self.address)
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection."""
        if self._control is not None:
            self._control.stop()
            self._control = None
        if self._server is None:
            return
        self._server.stop()
        self._server = None
        with self._lock:
            for connection in list(self._connections):
                close_quietly(connection)

    def __enter__(self) -> VirtualPrinter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the printer listens on."""
        if self._server is None:
            raise RuntimeError("the virtual printer is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    # --- the control surface --------------------------------------------------------------

    @property
    def state(self) -> VirtualState:
        """What the printer reports; setting a printing state prints what was held."""
        return self._state

    @state.setter
    def state(self, state: VirtualState) -> None:
        with self._lock:
            if state in _PRINTING_STATES:
                self._paper_left = None  # a new roll
            self._state = state
            self._advance()
        self._show_finished()

    def run_out_of_paper_after(self, byte_count: int) -> None:
        """The roll ends after ``byte_count`` more printed bytes: the state becomes paper out."""
        with self._lock:
            self._paper_left = byte_count

    def jobs(self) -> list[PrintJob]:
        """Every job received so far, oldest first (connections that only asked status are
        not jobs)."""
        with self._lock:
            return [_snapshot(job) for job in self._jobs if job.received]

    def printed(self) -> list[bytes]:
        """The bytes of every job that came out of the printer completely."""
        return [job.data for job in self.jobs() if job.complete]

    def wait_until(self, condition: Callable[[VirtualPrinter], bool], timeout: float) -> bool:
        """Wait up to ``timeout`` s for ``condition(self)``; whether it became true."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def clear(self) -> None:
        """Forget every job (between demo runs or test steps)."""
        with self._lock:
            self._jobs.clear()

    def start_control(self, port: int = 0) -> int:
        """Take line commands (see ``control``) on a loopback ``port``; the port used."""
        self._control = LoopbackServer((self._address[0], port), self, ControlHandler)
        self._control.serve_in_thread("virtual-printer-control")
        return int(self._control.server_address[1])

    def control(self, command: str) -> str:
        """One command of the control port: ``state [NAME]``, ``paper_after BYTES``,
        ``jobs``, ``dump`` (every job as one JSON line, bytes in hex), ``connections`` (how
        many were opened, status checks alone included), ``clear``.

        For the demo: ``echo 'state paper_out' | nc 127.0.0.1 PORT``.
        """
        match command.split():
            case ["state"]:
                pass
            case ["state", name] if name in set(VirtualState):
                self.state = VirtualState(name)
            case ["paper_after", count] if count.isdigit():
                self.run_out_of_paper_after(int(count))
            case ["jobs"]:
                jobs = self.jobs()
                done = sum(job.complete for job in jobs)
                held = sum(len(job.held) for job in jobs)
                return f"jobs {len(jobs)} printed {done} held_bytes {held}"
            case ["dump"]:
                return json.dumps([_dumped(job) for job in self.jobs()])
            case ["connections"]:
                return f"connections {self.connections}"
            case ["clear"]:
                self.clear()
            case _:
                names = "|".join(VirtualState)
                return (
                    f"error: commands are 'state [{names}]', 'paper_after BYTES', 'jobs', "
                    "'dump', 'connections', 'clear'"
                )
        return f"state {self.state}"

    # --- the printer's side ---------------------------------------------------------------

    def serve(self, connection: socket.socket) -> None:
        """One job: what arrives on ``connection`` until it closes (the server's thread)."""
        job = _Job(bytearray())
        carry = b""
        with self._lock:
            self.connections += 1
            self._connections.add(connection)
            self._jobs.append(job)
        try:
            while chunk := connection.recv(4096):
                payload, carry, queries = split_queries(carry + chunk)
                self._receive(job, payload)
                # the answers to what arrived together go back together, as a printer's
                # network interface sends what its queue holds in one segment
                answers = b"".join(self._answer(query) for query in queries)
                if answers:
                    connection.sendall(answers)
        except OSError:
            pass  # the client reset the connection: the job ends with what arrived
        finally:
            with self._lock:
                job.received += carry
                job.closed = True
                self._connections.discard(connection)
                self._advance()
            self._show_finished()

    def _receive(self, job: _Job, payload: bytes) -> None:
        with self._lock:
            job.received += payload
            self._advance()

    def _answer(self, query: int) -> bytes:
        with self._lock:
            self.status_queries += 1
            answers = STATUS_ANSWERS.get(self._state)
        if answers is not None and 1 <= query <= len(answers):
            return answers[query - 1 : query]
        return b""

    def _show_finished(self) -> None:
        """Write out, as text, each job that came out whole since the last look (under the
        lock: two jobs ending together must not take the same file number)."""
        if self._receipts is None:
            return
        with self._lock:
            for job in self._jobs:
                if job.received and not job.shown and _snapshot(job).complete:
                    job.shown = True
                    self._receipts.write(bytes(job.received))

    def _advance(self) -> None:
        """Print what the state allows, in order (the caller holds the lock)."""
        for job in self._jobs:
            if self._state not in _PRINTING_STATES:
                break
            waiting = len(job.received) - job.printed_upto
            if self._paper_left is not None and waiting > self._paper_left:
                job.printed_upto += self._paper_left
                self._paper_left = 0
                self._state = VirtualState.PAPER_OUT
                break
            job.printed_upto += waiting
            if self._paper_left is not None:
                self._paper_left -= waiting
        self._lock.notify_all()


def _dumped(job: PrintJob) -> dict[str, object]:
    return {"data": job.data.hex(), "printed": job.printed.hex(), "closed": job.closed}


def _snapshot(job: _Job) -> PrintJob:
    data = bytes(job.received)
    return PrintJob(data=data, printed=data[: job.printed_upto], closed=job.closed)
