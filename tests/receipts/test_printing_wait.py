# ruff: noqa: F811 (the fixtures are test_printing's, imported: their users redefine the names)
"""The printer worker's bounded wait for a sale's credits: it wakes on the outbox's
"settled" signal (not at its next look at the journal), and beats its heartbeat while it
waits, so the watchdog does not take a long wait for a hung worker."""

from __future__ import annotations

import asyncio
import re

import pytest

from drivers.virtual_printer import VirtualPrinter
from register_agent.config import TillConfig
from register_agent.journal import Journal
from register_agent.receipts.printer import Printer
from register_agent.receipts.printer_worker import PrinterWorker, PrintTiming
from tests.receipts.test_printing import (  # noqa: F401 (fixtures)
    CREDITED,
    SHOP,
    device,
    printed,
    printer,
)
from tests.support.printing_support import PENDING, credit_operation, finish, record
from tests.support.settled_watch import WatchedSettled

pytestmark = pytest.mark.anyio


#: the journal's time, frozen at the sale: the whole receipt_wait_s is left to wait
SOLD_AT = 1_700_000_000.0


def waiting_worker(
    journal: Journal, printer: Printer, settled: WatchedSettled, turn_s: float, beats: list[int]
) -> PrinterWorker:
    return PrinterWorker(
        journal,
        printer,
        till=TillConfig(receipt_wait_s=3.0),
        receipt=SHOP,
        width=42,
        clock=lambda: SOLD_AT,
        on_beat=lambda: beats.append(len(settled.asked)),  # how many waits came before it
        timing=PrintTiming(turn_s=turn_s, idle_status_s=0.0, monotonic=settled.clock),
        settled=settled,
    )


async def test_the_settled_signal_wakes_the_wait_at_once(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", PENDING, (credit_operation("4711"),), created_at=SOLD_AT)
    settled = WatchedSettled()

    async def outbox_delivers() -> None:
        await settled.waiting.wait()  # the worker waits for the credits: now they come
        settled.notify(await finish(journal, "op-4711", CREDITED))

    # a turn far longer than the test: only the signal can end the wait early
    worker = waiting_worker(journal, printer, settled, turn_s=2.5, beats=[])
    delivery = asyncio.create_task(outbox_delivers())
    assert await worker.print_due_once() == 1
    await delivery
    assert settled.asked == [2.5]  # one slice of the wait ...
    assert settled.ended == [True]  # ... ended by the signal: printed when the credits came
    [data] = printed(device, 1)
    assert re.search(rb"Your balance +162\n", data)


async def test_a_long_wait_keeps_the_heartbeat_going(
    journal: Journal, printer: Printer, device: VirtualPrinter
) -> None:
    await record(journal, "4711", PENDING, (credit_operation("4711"),), created_at=SOLD_AT)
    beats: list[int] = []
    settled = WatchedSettled()
    worker = waiting_worker(journal, printer, settled, turn_s=0.2, beats=beats)
    assert await worker.print_due_once() == 1  # nothing settles: the whole wait, 3 s
    assert not any(settled.ended)  # each slice ran out, none was told
    assert sum(settled.asked) == pytest.approx(3.0)  # the whole receipt_wait_s ...
    assert all(0 < asked <= 0.2 for asked in settled.asked)  # ... in slices of a turn
    # a heartbeat before each slice: never two waits without a beat between them
    assert set(range(len(settled.asked))) <= set(beats)
    [data] = printed(device, 1)
    assert b"Your points will be added shortly." in data
