# ruff: noqa: F811 (the fixtures are test_printing's, imported: their users redefine the names)
"""The printer worker's bounded wait for a sale's credits: it wakes on the outbox's
"settled" signal (not at its next look at the journal), and beats its heartbeat while it
waits, so the watchdog does not take a long wait for a hung worker."""

from __future__ import annotations

import asyncio
import itertools
import re
import time

import pytest

from drivers.virtual_printer import VirtualPrinter
from register_agent.config import TillConfig
from register_agent.journal import Journal
from register_agent.outbox.settled import Settled
from register_agent.receipts.printer import Printer
from register_agent.receipts.printer_worker import PrinterWorker, PrintTiming
from tests.receipts.test_printing import (  # noqa: F401 (fixtures)
    CREDITED,
    SHOP,
    device,
    journal,
    printed,
    printer,
)
from tests.support.printing_support import PENDING, credit_operation, finish, record

pytestmark = pytest.mark.anyio


def waiting_worker(
    journal: Journal, printer: Printer, settled: Settled, turn_s: float, beats: list[float]
) -> PrinterWorker:
    return PrinterWorker(
        journal,
        printer,
        till=TillConfig(receipt_wait_s=3.0),
        receipt=SHOP,
        width=42,
        clock=time.time,
        on_beat=lambda: beats.append(time.monotonic()),
        timing=PrintTiming(turn_s=turn_s, idle_status_s=0.0),
        settled=settled,
    )


async def test_the_settled_signal_wakes_the_wait_at_once(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", PENDING, (credit_operation("4711"),), created_at=time.time())
    settled = Settled()

    async def outbox_delivers() -> None:
        await asyncio.sleep(0.3)
        settled.notify(await finish(journal, "op-4711", CREDITED))

    # a turn far longer than the test: only the signal can end the wait early
    worker = waiting_worker(journal, printer, settled, turn_s=2.5, beats=[])
    started = time.monotonic()
    delivery = asyncio.create_task(outbox_delivers())
    assert await worker.print_due_once() == 1
    await delivery
    assert time.monotonic() - started < 1.2  # printed when the credits came
    [data] = printed(device, 1)
    assert re.search(rb"Your balance +162\n", data)


async def test_a_long_wait_keeps_the_heartbeat_going(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", PENDING, (credit_operation("4711"),), created_at=time.time())
    beats: list[float] = []
    worker = waiting_worker(journal, printer, Settled(), turn_s=0.2, beats=beats)
    started = time.monotonic()
    assert await worker.print_due_once() == 1  # nothing settles: the whole wait, 3 s
    assert time.monotonic() - started >= 2.9
    assert len(beats) >= 10
    gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]
    assert max(gaps) < 0.5
    [data] = printed(device, 1)
    assert b"Your points will be added shortly." in data
