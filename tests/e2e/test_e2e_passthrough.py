"""End to end, the receipt pass-through: a till process prints a recorded receipt to the
real agent's port, the agent relays it to the TCP printer in its own process, and the
sandbox's ledger shows what was credited. Over real sockets and the pty card reader.
"""

from __future__ import annotations

import json
import os
import select
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.virtual_printer import VirtualState
from tests.conftest import Sandbox
from tests.support.agent_harness import wait_for
from tests.support.passthrough_support import (
    RECEIPT,
    RECEIPT_CUT,
    RECEIPT_PULSE,
    PassthroughAgent,
    qr_payloads,
    zbar_decodes,
)
from tests.support.printer_process import PrinterProcess
from tests.support.till_process import replay, replay_in_background

JAN_CARD, JAN_ID, MARIE_ID = "A1B2C3D4", 7731, 7732
ORIGINAL = RECEIPT.read_bytes()


@pytest.fixture
def agent(
    request: pytest.FixtureRequest, sandbox_clean: Sandbox, tmp_path: Path, printer: PrinterProcess
) -> Iterator[Any]:
    version, base_url = getattr(request, "param", ("v3", None))
    till = PassthroughAgent(
        tmp_path, sandbox_clean, version, receipt_wait_s=1.5, printer=printer, base_url=base_url
    )
    try:
        yield till.start()
    finally:
        till.close()


def printed(printer: PrinterProcess, count: int) -> list[bytes]:
    def enough() -> list[bytes]:
        jobs = printer.printed()
        return jobs if len(jobs) >= count else []

    return wait_for(enough, 10, f"{count} printed jobs")


def credits(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == "credit_reception"]


def block_of(job: bytes) -> bytes:
    """What the agent put in: the job must be the original with one block before the cut
    (and the drawer pulse that followed the cut sent ahead of it when the cut waited for
    the block, never held; in its place when the block was decided at once)."""
    head, tail = ORIGINAL[:RECEIPT_CUT], ORIGINAL[RECEIPT_CUT:]
    if job.startswith(head + RECEIPT_PULSE):
        head, tail = head + RECEIPT_PULSE, tail.replace(RECEIPT_PULSE, b"")
    assert job.startswith(head), "the till's bytes before the cut changed"
    assert job.endswith(tail), "the cut and what follows it changed"
    return job[len(head) : len(job) - len(tail)]


@pytest.mark.parametrize("agent", [("v1", None), ("v3", None)], indirect=True)
def test_a_scanned_card_is_credited_once_and_its_block_goes_before_the_cut(
    agent: PassthroughAgent, printer: PrinterProcess, sandbox_clean: Sandbox
) -> None:
    agent.scan(JAN_CARD)
    replay(agent.till_address, RECEIPT)

    [job] = printed(printer, 1)
    block = block_of(job)
    assert b"Points earned" in block, block
    assert b"14" in block
    assert qr_payloads(block) == []  # the card's credits, never a QR on top
    [credit] = credits(sandbox_clean)
    assert (credit["member"]["id"], credit["credits"]) == (JAN_ID, 14)  # "Total $ 14.25"

    replay(agent.till_address, RECEIPT)  # the till prints the same receipt again
    second = printed(printer, 2)[1]
    assert block_of(second) == block  # the same answer, from the journal
    agent.drain(10)
    assert len(credits(sandbox_clean)) == 1
    assert len(agent.journal_rows("sales")) == 1
    figures = agent.status()["passthrough"]
    assert (figures["relayed"], figures["with_block"]) == (2, 2), figures


def test_without_a_card_the_receipt_gets_a_qr_that_collects_once(
    agent: PassthroughAgent, printer: PrinterProcess, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    """The QR is minted on the relay's own thread (no customer waits, v3), and its sale is
    journaled all the same; the receipt sent again prints the very same QR."""
    replay(agent.till_address, RECEIPT)
    replay(agent.till_address, RECEIPT)  # the till prints the same receipt again

    first, again = printed(printer, 2)
    [url] = qr_payloads(block_of(first))
    assert qr_payloads(block_of(again)) == [url]
    assert zbar_decodes(url, tmp_path) == [url]
    [sale] = wait_for(lambda: agent.journal_rows("sales"), 10, "the receipt's sale")
    assert json.loads(sale["answer"])["loyalty"]["qr_url"] == url
    assert sandbox_clean.claim(url, MARIE_ID).status_code == 200
    assert sandbox_clean.claim(url, JAN_ID).status_code >= 400
    claimed = [r for r in sandbox_clean.ledger() if r["kind"] == "token_claim"]
    assert [(r["member"]["id"], r["credits"]) for r in claimed] == [(MARIE_ID, 14)]
    assert credits(sandbox_clean) == []
    assert "minted on the relay" in agent.log()


@pytest.mark.parametrize("agent", [("v1", "http://127.0.0.1:9")], indirect=True)
def test_v1_without_a_card_and_without_the_api_says_points_cannot_be_collected(
    agent: PassthroughAgent, printer: PrinterProcess
) -> None:
    replay(agent.till_address, RECEIPT)

    [job] = printed(printer, 1)
    block = block_of(job)
    words = b" ".join(block.split())  # the line wraps at the paper's width
    assert b"Loyalty points cannot be collected for this receipt." in words, block
    assert qr_payloads(block) == []


@pytest.mark.parametrize(
    ("state", "answer"), [(VirtualState.PAPER_OUT, 0x1E), (VirtualState.OK, 0x16)]
)
def test_a_till_asking_dle_eot_gets_the_printers_own_status_byte(
    agent: PassthroughAgent, printer: PrinterProcess, state: VirtualState, answer: int
) -> None:
    printer.state = state
    if state is VirtualState.PAPER_OUT:  # the job waits in the printer for a new roll
        printer.control("state paper_out")
    got = replay(agent.till_address, RECEIPT, ask=b"\x10\x04\x01")

    assert got == bytes([answer])
    printer.state = VirtualState.OK
    [job] = printed(printer, 1)
    assert job.startswith(ORIGINAL[:RECEIPT_CUT])


def test_streams_the_reader_cannot_follow_or_without_a_total_pass_byte_exact(
    agent: PassthroughAgent, printer: PrinterProcess, tmp_path: Path, sandbox_clean: Sandbox
) -> None:
    broken = tmp_path / "broken.bin"
    # a real receipt with an unknown command in the middle of its text
    broken.write_bytes(ORIGINAL[:9400] + b"\x1d\xfe\x01\x02" + ORIGINAL[9400:])
    no_total = RECEIPT.parent / "escpos-php-demo.bin"  # 73 KB, images and 14 cuts, no total
    agent.scan(JAN_CARD)

    replay(agent.till_address, broken)
    replay(agent.till_address, no_total)

    jobs = printed(printer, 2)
    assert jobs == [broken.read_bytes(), no_total.read_bytes()]
    assert credits(sandbox_clean) == []
    figures = agent.status()["passthrough"]
    assert figures["with_block"] == 0
    assert figures["passed"] == {"out_of_sync": 1, "no_total": 1}, figures


def test_the_agent_killed_mid_job_credits_once_and_prints_again_when_back(
    agent: PassthroughAgent, printer: PrinterProcess, sandbox_clean: Sandbox
) -> None:
    agent.scan(JAN_CARD)
    # the till's connection stays open after the job; the agent dies before it ends
    with_hold = replay_in_background(agent.till_address, RECEIPT, hold_s=30.0)
    wait_for(lambda: agent.journal_rows("sales"), 10, "the receipt's sale")
    agent.kill()
    with_hold.wait(30)
    agent.start()

    replay(agent.till_address, RECEIPT)  # the till prints the receipt again

    first, again = printed(printer, 2)
    # the killed job stopped where the agent died (before its cut, or in its block)
    assert first.startswith(ORIGINAL[:RECEIPT_CUT])
    block = block_of(again)  # printed again whole, with the sale's first answer
    assert b"Points earned" in block or b"points will be added" in block, block
    agent.drain(10)
    assert [c["credits"] for c in credits(sandbox_clean)] == [14]
    assert len(agent.journal_rows("sales")) == 1


@pytest.fixture
def serial_agent(
    sandbox_clean: Sandbox, tmp_path: Path, printer: PrinterProcess
) -> Iterator[PassthroughAgent]:
    till = PassthroughAgent(
        tmp_path, sandbox_clean, "v3", receipt_wait_s=1.5, printer=printer, serial=True
    )
    try:
        till.start()
        yield till
    finally:
        till.close()


def test_a_till_on_a_serial_line_gets_its_status_byte_and_its_block(
    serial_agent: PassthroughAgent, printer: PrinterProcess, sandbox_clean: Sandbox
) -> None:
    line = serial_agent.till_line
    assert line is not None
    serial_agent.scan(JAN_CARD)
    os.write(line, b"\x10\x04\x01")  # DLE EOT 1 down the cable: the printer's answer comes back
    assert wait_for(lambda: _read(line), 10, "the status byte") == b"\x16"

    os.write(line, ORIGINAL)  # the job ends at its cut and the idle gap after it

    [job] = printed(printer, 1)
    assert b"Points earned" in block_of(job)
    assert [c["credits"] for c in credits(sandbox_clean)] == [14]


def _read(fd: int) -> bytes:
    ready, _, _ = select.select([fd], [], [], 0.1)
    return os.read(fd, 16) if ready else b""


@pytest.fixture
def last_agent(
    sandbox_clean: Sandbox, tmp_path: Path, printer: PrinterProcess
) -> Iterator[PassthroughAgent]:
    till = PassthroughAgent(
        tmp_path, sandbox_clean, "v3", receipt_wait_s=1.5, printer=printer, template='pick = "last"'
    )
    try:
        till.start()
        yield till
    finally:
        till.close()


def test_with_pick_last_the_block_goes_on_the_jobs_last_receipt(
    last_agent: PassthroughAgent, printer: PrinterProcess, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    first = b"\x1b@ExampleMart Ltd.\nMerchant's slip\nTotal  $ 14.25\n\n\x1dVA\x03"
    job = tmp_path / "two-receipts.bin"
    job.write_bytes(first + ORIGINAL)  # one connection: a merchant's slip, then the receipt
    last_agent.scan(JAN_CARD)

    replay(last_agent.till_address, job)

    [printed_job] = printed(printer, 1)
    assert printed_job.startswith(first)  # nothing went into the first receipt
    assert b"Points earned" in block_of(printed_job[len(first) :])
    assert [c["credits"] for c in credits(sandbox_clean)] == [14]
