"""The printer worker with real parts: a journal on disk, the ESC/POS driver, and the virtual
TCP printer on loopback; the tests read the bytes the printer received."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from drivers import escpos_links
from drivers.virtual_printer import VirtualPrinter, VirtualState
from register_agent.common.events import EventBus
from register_agent.config import NetworkPrinterConfig, ReceiptConfig, TillConfig
from register_agent.counter.messages import LoyaltyBlock
from register_agent.journal import Journal, PrintJobState
from register_agent.receipts.layout import ReceiptLayout
from register_agent.receipts.printer import Printer, PrinterState, PrinterStatus
from register_agent.receipts.printer_worker import PrinterWorker, PrintTiming
from register_agent.runtime.devices import open_printer
from tests.support.asked import asked_waits
from tests.support.printing_support import (
    NOW,
    PENDING,
    STAGED_URL,
    TOKEN_URL,
    V3_QR,
    credit_operation,
    finish,
    record,
    staged_operation,
)
from tests.support.settled_watch import WatchedSettled

STATUS_TIMEOUT = 0.3
SHOP = ReceiptConfig(header=("Bakkerij Jansen",), footer=("Tot ziens!",))
QUICK = PrintTiming(turn_s=0.05, idle_status_s=0.0, retry_min_s=0.05, retry_max_s=0.2)
CREDITED = {"reception_id": "r1", "credits": 12, "balance": 162, "customer": {"key": "7731"}}

pytestmark = pytest.mark.anyio


@pytest.fixture
def device() -> Iterator[VirtualPrinter]:
    with VirtualPrinter() as started:
        yield started


@pytest.fixture
def printer(device: VirtualPrinter, tmp_path: Path) -> Printer:
    host, port = device.address
    config = NetworkPrinterConfig(
        kind="network",
        host=host,
        port=port,
        status_timeout_s=STATUS_TIMEOUT,
        timeout_s=1.0,
        capabilities_cache_dir=tmp_path / "cache",
    )
    return open_printer(config)


def worker(
    journal: Journal,
    printer: Printer,
    *,
    till: TillConfig | None = None,
    clock: Callable[[], float] = lambda: NOW + 5,
    events: EventBus | None = None,
    on_beat: Callable[[], None] = lambda: None,
    settled: WatchedSettled | None = None,
) -> PrinterWorker:
    """A worker whose clock is past every sale's credit wait unless a test says otherwise."""
    return PrinterWorker(
        journal,
        printer,
        till=till or TillConfig(),
        receipt=SHOP,
        width=42,
        events=events,
        clock=clock,
        on_beat=on_beat,
        # a watched signal lends the wait its clock: the test reads what the wait asked
        timing=replace(QUICK, monotonic=settled.clock) if settled else QUICK,
        settled=settled,
    )


def qr_payloads(data: bytes) -> list[bytes]:
    """The data of every 'store QR data' command: GS ( k pL pH 49 80 48 d1..dk."""
    found = []
    for match in re.finditer(rb"\x1d\(k(..)1P0", data, re.DOTALL):
        length = match.group(1)[0] + 256 * match.group(1)[1] - 3
        found.append(data[match.end() : match.end() + length])
    return found


def printed(device: VirtualPrinter, count: int) -> list[bytes]:
    """The jobs that came out of the printer, once ``count`` have (or never, in 30 s)."""
    assert device.wait_until(lambda p: len(p.printed()) >= count, timeout=30)
    return device.printed()


def cut_last(data: bytes) -> bool:
    return re.search(rb"\x1dV[\x00\x01]", data[-8:]) is not None


def has(data: bytes, text: str) -> bool:
    return text.encode("cp858") in data


async def pending_jobs(journal: Journal) -> list[str]:
    return [job.sale_id for job in await journal.print_jobs_due(NOW + 5, 600)]


async def test_a_credited_sale_prints_its_lines_credits_and_balance(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", PENDING, (credit_operation("4711"),))
    await finish(journal, "op-4711", CREDITED)
    assert await worker(journal, printer).print_due_once() == 1
    [data] = printed(device, 1)
    for text in ("Bakkerij Jansen", "Café crème", "€12.50", "Points earned", "Your balance"):
        assert has(data, text), text
    assert re.search(rb"Points earned +12\n", data)
    assert re.search(rb"Your balance +162\n", data)
    assert not has(data, "COPY")
    assert cut_last(data)
    assert await pending_jobs(journal) == []


async def test_credits_not_confirmed_in_time_print_points_will_be_added_after_a_bounded_wait(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", PENDING, (credit_operation("4711"),), created_at=NOW)
    till = TillConfig(receipt_wait_s=0.5)
    settled = WatchedSettled()
    printing = worker(journal, printer, till=till, clock=lambda: NOW, settled=settled)
    assert await printing.print_due_once() == 1
    assert not any(settled.ended)  # nothing came: each slice of the wait ran out ...
    assert sum(settled.asked) == pytest.approx(0.5)  # ... and together they are the wait
    [data] = printed(device, 1)
    assert has(data, "Your points will be added shortly.")
    assert not has(data, "Points earned")


async def test_credits_confirmed_during_the_wait_are_on_the_slip(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", PENDING, (credit_operation("4711"),), created_at=NOW)
    till = TillConfig(receipt_wait_s=10.0)  # the longest allowed: a busy machine's room
    settled = WatchedSettled()

    async def outbox_delivers() -> None:
        await settled.waiting.wait()  # the worker waits for the credits: now they come
        await finish(journal, "op-4711", CREDITED)  # in the journal only, no signal

    delivery = asyncio.create_task(outbox_delivers())
    printing = worker(journal, printer, till=till, clock=lambda: NOW, settled=settled)
    assert await printing.print_due_once() == 1
    await delivery
    assert sum(settled.asked) < 10.0  # printed when the credits came, not at the wait's end
    [data] = printed(device, 1)
    assert re.search(rb"Your balance +162\n", data)


async def test_a_v3_sale_without_customer_prints_the_token_url_as_qr(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", V3_QR)
    assert await worker(journal, printer).print_due_once() == 1
    [data] = printed(device, 1)
    assert qr_payloads(data) == [TOKEN_URL.encode()]
    assert has(data, "Scan to collect your points")


async def test_a_v1_staged_sale_prints_the_staged_url_or_says_plainly_there_is_none(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    no_qr_yet = LoyaltyBlock(state="qr", lines=())
    await record(journal, "staged", no_qr_yet, (staged_operation("staged"),))
    await finish(journal, "op-staged", {"url": STAGED_URL, "reference": "s1", "credits": 12})
    await record(journal, "offline", no_qr_yet, (staged_operation("offline"),))
    assert await worker(journal, printer).print_due_once() == 2
    staged, offline = printed(device, 2)
    assert qr_payloads(staged) == [STAGED_URL.encode()]
    assert qr_payloads(offline) == []
    assert has(offline, "No QR code: the loyalty service")  # wrapped at 42 columns
    assert not has(offline, "Scan to collect")


async def test_paper_out_keeps_the_job_until_paper_is_back_then_prints_it_once(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", V3_QR)
    printing = worker(journal, printer)
    device.state = VirtualState.PAPER_OUT
    assert await printing.print_due_once() == 0
    assert device.jobs() == []  # nothing was sent, only the status asked
    assert await pending_jobs(journal) == ["4711"]
    status = printing.printer_status()
    assert status is not None
    assert status.message == "Printer is out of paper: put in a new roll."
    device.state = VirtualState.OK
    assert await printing.print_due_once() == 1
    assert await printing.print_due_once() == 0
    assert len(printed(device, 1)) == 1
    assert len(device.jobs()) == 1


async def test_a_silent_printer_blocks_nothing_and_the_running_worker_prints_when_it_is_back(
    journal: Journal, printer: Printer, device: VirtualPrinter, monkeypatch: pytest.MonkeyPatch
) -> None:
    await record(journal, "4711", V3_QR)
    device.state = VirtualState.SILENT
    beats = 0

    def beat() -> None:
        nonlocal beats
        beats += 1

    printing = worker(journal, printer, on_beat=beat)
    # a status asked of a printer that never answers: the worker's turn still ends, having
    # let the query wait no longer than the status timeout
    asked = asked_waits(monkeypatch, escpos_links._NetworkLink)
    assert await asyncio.wait_for(printing.print_due_once(), 30) == 0
    assert asked  # it did ask
    assert all(0 < seconds <= STATUS_TIMEOUT for seconds in asked)
    status = printing.printer_status()
    assert status is not None
    assert status.state is PrinterState.NO_REPLY
    assert await pending_jobs(journal) == ["4711"]

    running = asyncio.create_task(printing.run())
    # The worker keeps asking (each silent answer takes the status timeout) and beating.
    beats_before = beats
    for _ in range(600):  # a poll's bound, generous for a busy machine
        if beats >= beats_before + 2:
            break
        await asyncio.sleep(0.05)
    assert device.jobs() == []
    beats_while_down = beats
    assert beats_while_down >= beats_before + 2, "the worker stopped beating while down"
    device.state = VirtualState.OK
    assert await asyncio.to_thread(device.wait_until, lambda p: len(p.printed()) == 1, 3.0)
    for _ in range(600):  # the job is marked done just after the printer took it
        if not await pending_jobs(journal):
            break
        await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert qr_payloads(device.printed()[0]) == [TOKEN_URL.encode()]
    assert await pending_jobs(journal) == []
    assert beats > beats_while_down


async def test_a_stale_job_waits_for_a_reprint_which_prints_the_original_with_the_same_qr(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "morning", V3_QR)
    later = NOW + 601  # past the 10 min freshness window
    printing = worker(journal, printer, clock=lambda: later)
    assert await printing.print_due_once() == 0
    assert device.jobs() == []
    again = await journal.add_reprint("morning", later)
    assert again.copy == 0  # it never printed: the customer gets the original
    assert await printing.print_due_once() == 1
    [data] = printed(device, 1)
    assert not has(data, "*** COPY ***")
    assert qr_payloads(data) == [TOKEN_URL.encode()]


async def test_a_reprint_after_the_first_print_is_marked_copy_and_carries_the_same_qr(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", V3_QR)
    printing = worker(journal, printer)
    assert await printing.print_due_once() == 1
    reprint = await journal.add_reprint("4711", NOW + 5)
    assert reprint.copy == 1
    assert await printing.print_due_once() == 1
    first, copy = printed(device, 2)
    assert not has(first, "COPY")
    assert has(copy, "*** COPY ***")
    assert qr_payloads(first) == qr_payloads(copy) == [TOKEN_URL.encode()]
    jobs = [job.state for job in await journal.print_jobs_due(NOW + 5, 600)]
    assert jobs == []
    assert reprint.state is PrintJobState.PENDING


async def test_a_loyalty_slip_leaves_out_the_pos_lines(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", PENDING, (credit_operation("4711"),))
    await finish(journal, "op-4711", CREDITED)
    till = TillConfig(prints="loyalty_slip")
    assert await worker(journal, printer, till=till).print_due_once() == 1
    [data] = printed(device, 1)
    assert has(data, "Bakkerij Jansen")
    assert has(data, "Tot ziens!")
    assert re.search(rb"Points earned +12\n", data)
    for text in ("Café crème", "Appeltaart", "Total"):
        assert not has(data, text), text
    assert cut_last(data)


async def test_a_status_change_is_published_once_not_per_poll(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    events = EventBus()
    printing = worker(journal, printer, events=events)
    for state in (VirtualState.OK, VirtualState.OK, VirtualState.PAPER_OUT):
        device.state = state
        await printing.print_due_once()  # idle: only the status is asked
    device.state = VirtualState.PAPER_OUT
    await printing.print_due_once()
    device.state = VirtualState.OK
    await printing.print_due_once()
    published, _ = events.since(0)
    assert [event.kind for event in published] == ["printer"] * 3
    assert [event.data["state"] for event in published] == ["online", "paper out", "online"]
    assert published[1].data["message"] == "Printer is out of paper: put in a new roll."
    assert device.status_queries >= 5 * 4  # every poll asked; only the changes were told


async def test_a_loyalty_slip_with_nothing_to_say_is_not_printed(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", LoyaltyBlock(state="none", lines=()))
    till = TillConfig(prints="loyalty_slip")
    assert await worker(journal, printer, till=till).print_due_once() == 1
    assert device.jobs() == []
    assert await pending_jobs(journal) == []


class SlowPrinter:
    """The real driver, with a pause before each job: time to stop the worker mid-print."""

    def __init__(self, inner: Printer) -> None:
        self.inner = inner
        self.printing = asyncio.Event()

    async def status(self) -> PrinterStatus:
        return await self.inner.status()

    async def print(self, receipt: ReceiptLayout) -> None:
        self.printing.set()
        await asyncio.sleep(0.3)
        await self.inner.print(receipt)

    async def open_drawer(self, pin: int, on_ms: int, off_ms: int) -> None:
        await self.inner.open_drawer(pin, on_ms, off_ms)

    async def close(self) -> None:
        await self.inner.close()


async def test_stopping_mid_print_finishes_the_slip_and_records_it(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", V3_QR)
    slow = SlowPrinter(printer)
    running = asyncio.create_task(worker(journal, slow).run())
    await asyncio.wait_for(slow.printing.wait(), 2)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert len(printed(device, 1)) == 1
    assert await pending_jobs(journal) == []  # a restart will not print it a second time


async def test_a_printer_that_is_down_is_asked_less_and_less_often(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", V3_QR)
    device.state = VirtualState.COVER_OPEN
    running = asyncio.create_task(worker(journal, printer).run())
    await asyncio.sleep(1.0)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    checks = device.status_queries // 4
    # every turn (0.05 s) would be 20 checks; the backoff 0.05, 0.1, 0.2, 0.2 ... makes ~7
    assert 3 <= checks <= 10
    assert device.jobs() == []
    assert await pending_jobs(journal) == ["4711"]


async def test_a_receipt_to_a_ready_printer_is_one_connection_status_then_job(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    printing = worker(journal, printer)
    assert await printing.print_due_once() == 0  # idle: the status alone (ready)
    assert (device.connections, device.status_queries) == (1, 4)
    await record(journal, "4711", V3_QR)
    assert await printing.print_due_once() == 1
    # one more connection: the status asked on the job's own (four queries, one write),
    # the slip, and the one query after it
    assert (device.connections, device.status_queries) == (2, 4 + 4 + 1)
    assert len(printed(device, 1)) == 1


async def test_a_paper_out_answer_before_the_job_holds_it_and_is_reported_once(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    events = EventBus()
    printing = worker(journal, printer, events=events)
    assert await printing.print_due_once() == 0  # ready, as far as the worker knows
    device.state = VirtualState.PAPER_OUT
    await record(journal, "4711", V3_QR)
    assert await printing.print_due_once() == 0
    assert device.jobs() == []  # the job's connection asked, heard paper out, sent nothing
    assert device.connections == 2  # and was not asked again on a connection of its own
    status = printing.printer_status()
    assert status is not None
    assert status.state is PrinterState.PAPER_OUT
    assert await pending_jobs(journal) == ["4711"]
    device.state = VirtualState.OK
    assert await printing.print_due_once() == 1
    assert len(printed(device, 1)) == 1
    published, _ = events.since(0)
    assert [event.data["state"] for event in published] == ["online", "paper out", "online"]
