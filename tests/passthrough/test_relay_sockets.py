"""The relay over real loopback sockets, in this process: the till is a socket, the printer
the virtual TCP printer. A hung loyalty path (the agent's event loop blocked) delays a
receipt by the judge's bound and no more, the job then prints untouched and is counted;
the till's status query is answered by the printer while the cut waits; the printer is
shared with the agent's own slips one connection at a time."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from drivers.virtual_printer import VirtualPrinter
from register_agent.config import PassthroughConfig, ReceiptConfig
from register_agent.config.passthrough import CutDialect
from register_agent.passthrough.desk import PassthroughDesk
from register_agent.passthrough.figures import PassthroughCounters
from register_agent.passthrough.judge import Judge
from register_agent.passthrough.relay import Relay, RelaySettings

RECEIPT = Path(__file__).resolve().parents[1] / "fixtures" / "escpos"
ORIGINAL = (RECEIPT / "escpos-tools-receipt-with-logo.bin").read_bytes()
CUT = 9570
PULSE = b"\x1bp0<x"  # the receipt opens the drawer after its cut


class _HungLoop:
    """The agent's event loop, blocked (a hung journal or a busy CPU) until ``release``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._hung = threading.Event()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.loop.call_soon_threadsafe(self._hung.wait)

    def release(self) -> None:
        """Unblock the loop; the block nobody waits for any more is cancelled."""
        self._hung.set()

        async def cancel_the_rest() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(cancel_the_rest(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@pytest.fixture
def printer() -> Iterator[VirtualPrinter]:
    with VirtualPrinter() as device:
        yield device


@pytest.fixture
def hung() -> Iterator[_HungLoop]:
    loop = _HungLoop()
    yield loop
    loop.release()


def _relay(
    printer: VirtualPrinter,
    loop: Any,
    lock: threading.Lock,
    dialect: CutDialect = "epson",
    judging: type[Judge] = Judge,
) -> tuple[Relay, Any]:
    desk = PassthroughDesk(
        cast("Any", None),  # never reached: the loop is hung
        currency="EUR",
        language="en",
        stages_online=False,
    )
    judge = judging(
        passthrough=PassthroughConfig(enabled=True, cut_dialect=dialect),
        desk=desk,
        loop=loop,
        receipt=ReceiptConfig(),
        width=42,
        render=lambda layout: b"",
        wait_s=0.5,
    )
    counters = PassthroughCounters()
    settings = RelaySettings(listen=("127.0.0.1", 0), printer=printer.address, cut_dialect=dialect)
    relay = Relay(settings, judge, counters, lock)
    return relay, counters


def test_a_hung_loyalty_path_passes_the_job_untouched_and_status_is_answered_meanwhile(
    printer: VirtualPrinter, hung: _HungLoop
) -> None:
    relay, counters = _relay(printer, hung.loop, threading.Lock())
    address = relay.start()
    try:
        with socket.create_connection(address, timeout=10) as till:
            till.sendall(ORIGINAL + b"\x10\x04\x01")  # the receipt, then DLE EOT 1
            answer = till.recv(1)
            # the printer answered while the cut was still held for the block
            received_then = printer.jobs()[0].data
            till.shutdown(socket.SHUT_WR)
            while till.recv(4096):
                pass
    finally:
        relay.stop()

    assert answer == b"\x16"  # the printer's own "online"
    # the printer answered while the cut was held; the drawer pulse behind it went ahead
    assert received_then == ORIGINAL[:CUT] + PULSE
    untouched = ORIGINAL[:CUT] + PULSE + ORIGINAL[CUT:].replace(PULSE, b"")
    assert printer.wait_until(lambda p: p.printed() == [untouched], 5)
    figures = counters.figures()
    assert (figures.relayed, figures.with_block, figures.passed) == (1, 0, {"loyalty_timeout": 1})


def test_a_job_waits_for_the_agents_own_slip_and_prints_after_it(
    printer: VirtualPrinter, hung: _HungLoop
) -> None:
    lock = threading.Lock()
    relay, _ = _relay(printer, hung.loop, lock)
    address = relay.start()
    lock.acquire()  # the printer worker is printing a slip
    try:
        with socket.create_connection(address, timeout=10) as till:
            till.sendall(b"Hello\n")
            assert not printer.wait_until(lambda p: bool(p.jobs()), 0.5)  # nothing reaches it
            lock.release()
            till.shutdown(socket.SHUT_WR)
            while till.recv(4096):
                pass
    finally:
        relay.stop()
    assert printer.wait_until(lambda p: p.printed() == [b"Hello\n"], 5)


def test_a_job_cut_in_a_dialect_the_printer_is_not_set_up_for_passes_untouched(
    printer: VirtualPrinter, hung: _HungLoop
) -> None:
    """A Star Line Mode cut (ESC d 3) on a till set up as "epson": no block at the end, where
    it would print after the real cut."""
    relay, counters = _relay(printer, hung.loop, threading.Lock())
    job = b"\x1b@Shop\nTOTAAL 12,50\n\x1bd\x03"
    address = relay.start()
    try:
        _print_job(address, job)
    finally:
        relay.stop()
    assert printer.wait_until(lambda p: p.printed() == [job], 5)
    assert counters.figures().passed == {"unknown_dialect": 1}


def test_a_printer_in_star_line_mode_gets_every_job_untouched(
    printer: VirtualPrinter, hung: _HungLoop
) -> None:
    """Star Line Mode (ESC GS a 1 centres, ESC d 2 cuts): the block is ESC/POS, which such a
    printer would print as garbage, so no job of it is read for one, not even one whose
    every command ESC/POS also has; each is counted as such."""
    relay, counters = _relay(printer, hung.loop, threading.Lock(), "star-line")
    jobs = [b"\x1b@Shop\nTOTAAL 12,50\n\x1bd\x02", b"\x1b@\x1b\x1da\x01Shop\nTOTAL 3.00\n\x1bd\x02"]
    address = relay.start()
    try:
        for job in jobs:
            _print_job(address, job)
    finally:
        relay.stop()
    assert printer.wait_until(lambda p: p.printed() == jobs, 5)
    assert counters.figures().passed == {"star_line": 2}


def _print_job(address: tuple[str, int], job: bytes) -> None:
    """A till sending one job on a connection of its own, reading until the relay closes."""
    with socket.create_connection(address, timeout=10) as till:
        till.sendall(job)
        till.shutdown(socket.SHUT_WR)
        while till.recv(4096):
            pass


class _BrokenJudge(Judge):
    """A judge that fails at the cut (a bug, a journal that refuses): the relay must fail
    open and print the job as the till sent it."""

    def at_cut(self, job: bytes, cut: int, service: Any) -> Any:
        raise RuntimeError("the loyalty path broke")


def test_a_judge_that_fails_at_the_cut_lets_the_job_print_untouched(
    printer: VirtualPrinter,
) -> None:
    relay, counters = _relay(printer, None, threading.Lock(), judging=_BrokenJudge)
    address = relay.start()
    try:
        with socket.create_connection(address, timeout=10) as till:
            till.sendall(ORIGINAL)
            till.shutdown(socket.SHUT_WR)
            while till.recv(4096):
                pass
    finally:
        relay.stop()

    assert printer.wait_until(lambda p: p.printed() == [ORIGINAL], 5)
    assert counters.figures().passed == {"error": 1}
