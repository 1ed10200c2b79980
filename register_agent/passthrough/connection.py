"""One till connection of the relay (``relay.py``): the till's bytes through the job's
stream (``stream.py``) to the printer, the judge asked at each cut (``judge.py``), the
printer's answers straight back, and the job's end (the connection closing, or an idle gap
on a connection or serial line that stays open), where the printer is given back.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import selectors
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

from register_agent.passthrough.figures import PassthroughCounters
from register_agent.passthrough.judge import Deciding, Verdict
from register_agent.passthrough.printer_link import close_printer, open_printer
from register_agent.passthrough.stream import JobStream

log = logging.getLogger(__name__)

_CHUNK = 65536


class RelayParts(Protocol):
    """What a connection uses of its relay."""

    @property
    def settings(self) -> Any: ...

    @property
    def judge(self) -> Deciding: ...

    @property
    def counters(self) -> PassthroughCounters: ...

    @property
    def printer_lock(self) -> Any: ...

    @property
    def on_job(self) -> Callable[[bytes], None] | None: ...


class TillConnection:
    """One till connection: its jobs, the printer connection while a job runs."""

    def __init__(self, relay: RelayParts, till: Any, idle_s: float) -> None:
        self._relay = relay
        self._till = till
        self._idle_s = idle_s
        self._printer: Any = None  # a socket, or a serial printer's line (printer_link.py)
        self._selector = selectors.DefaultSelector()
        # the block's future rings this when it is done: no poll interval is added to a job
        self._bell, self._ringer = socket.socketpair()
        self._stream = JobStream(relay.settings.cut_dialect)
        self._job_start = 0  # where the current job starts in the stream
        self._decided = False  # a receipt of this job got its verdict at its cut
        self._gathered = bytearray()  # for the printer, written when the pump stops
        self._then: list[Any] = []  # run once ``_gathered`` is written (``Verdict.then``)
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
        chunk = self._read_till()
        if not chunk:
            return
        if self._printer is None and not self._take_printer():
            self._till_open = False  # no printer: the till sees it as a printer that is off
            return
        self._stream.feed(chunk)
        self._pump()

    def _read_till(self) -> bytes:
        """What the till sent next; b"" once it hung up (then it is no longer watched)."""
        try:
            chunk: bytes = self._till.recv(_CHUNK)
        except OSError:
            chunk = b""
        if not chunk:
            self._till_open = False
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self._till)
        return chunk

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

    def _pump(self, *, ending: bool = False) -> None:
        """Send what may go; at a held cut, ask the judge and send its block first.

        What may go is gathered and written once when the pump stops (or as soon as the
        judge has to wait, ``_serve_until``): a receipt that arrives in one piece reaches
        the printer in one write, its block included, as a bare relay's would."""
        try:
            self._pump_gathered(ending=ending)
        finally:
            self._flush()

    def _pump_gathered(self, *, ending: bool) -> None:
        while True:
            self._gathered += self._stream.take()
            held = self._stream.held_cut
            if held is None:
                return
            start, end = held
            if self._relay.judge.picks_last and not ending:
                # the customer's receipt is the job's last: a cut is judged once the job
                # ends with nothing printed after it, released unjudged when text follows
                if not self._stream.printed_after(end):
                    self._gathered += self._stream.urgent()
                    return
                self._stream.release_cut()
                continue
            job, cut = bytes(self._stream.data[self._job_start : end]), start - self._job_start
            verdict = self._guarded(self._relay.judge.at_cut, job, cut, self._serve_until)
            self._gathered += verdict.insert
            if verdict.then is not None:
                self._then.append(verdict.then)
            if self._stream.lost is None:  # a judge that failed gave the job up: no cut held
                self._stream.release_cut()
            if verdict.closed:
                self._relay.counters.job_done(verdict.reason)
                self._job_start = end
                self._decided = True

    def _flush(self) -> None:
        data, self._gathered = bytes(self._gathered), bytearray()
        then, self._then = self._then, []
        try:
            self._send(data)
        finally:
            for step in then:  # the sales of blocks just written, to the loop
                try:
                    step()
                except Exception:  # the receipt printed; only its sale's record is lost
                    log.exception("passthrough: a printed sale could not be handed on")

    def _end_job(self) -> None:
        """The job's end: a receipt with no cut after it, the counters, the printer back."""
        if self._stream.lost is None:
            self._guarded(self._pump, ending=True)  # a last cut still held
        self._send(self._stream.rest())
        job = bytes(self._stream.data[self._job_start :])
        if job.strip(b"\x00\n\r\x1b@"):
            if self._stream.lost is not None:
                verdict = Verdict(reason=self._stream.lost)
            else:
                verdict = self._guarded(self._relay.judge.at_end, job, self._serve_until)
            self._then += [verdict.then] if verdict.then is not None else []
            self._gathered += verdict.insert
            self._flush()
            # what follows a decided receipt's cut (a feed, a reset) is no job of its own
            if not (self._decided and verdict.reason == "no_text"):
                self._relay.counters.job_done(verdict.reason)
        self._decided = False
        self._release_printer()
        if self._relay.on_job is not None and self._stream.data:
            self._relay.on_job(bytes(self._stream.data))  # as the till sent it, all of it
        self._stream = JobStream(self._relay.settings.cut_dialect)
        self._job_start = 0

    def _guarded(self, decide: Any, *args: Any, **options: Any) -> Verdict:
        try:
            verdict: Verdict = decide(*args, **options) or Verdict()
        except Exception:  # fail open, always
            log.exception("passthrough: the job is passed untouched after an error")
            self._stream.give_up("error")
            return Verdict(reason="error")
        return verdict

    def _serve_until(self, future: concurrent.futures.Future[Any], deadline: float) -> None:
        """While the block is made: the receipt so far goes to the printer, its answers go
        on to the till, and the till's real-time commands and drawer pulses to the
        printer, ahead of the held cut."""
        self._gathered += self._stream.urgent()  # those that came with the cut's own chunk
        self._flush()
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
                chunk = self._read_till()
                if not chunk:
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
