"""The virtual printer itself, and the driver's serial and file transports."""

from __future__ import annotations

import asyncio
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers import escpos_links
from drivers.escpos_printer import EscposPrinter, VirtualNetworkPrinter
from drivers.loopback_server import split_queries
from drivers.virtual_printer import STATUS_ANSWERS, VirtualPrinter, VirtualState
from register_agent.config import (
    FilePrinterConfig,
    ReceiptConfig,
    SerialPrinterConfig,
    UsbPrinterConfig,
    VirtualPrinterConfig,
)
from register_agent.errors import PrinterError
from register_agent.receipts.layout import Receipt, layout_receipt
from register_agent.receipts.printer import PrinterState
from tests.support.asked import asked_waits

RECEIPT = layout_receipt(Receipt(notes=("Café € 1",)), ReceiptConfig(), 32)


def send(device: VirtualPrinter, data: bytes) -> bytes:
    """Send ``data`` on one connection like a job; return whatever the printer answered."""
    with socket.create_connection(device.address, timeout=2) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(64):
            answer += chunk
    return answer


def test_status_queries_are_answered_and_kept_out_of_the_job() -> None:
    with VirtualPrinter() as device:
        answer = send(device, b"AB\x10\x04\x01CD\x10\x04\x04")
        assert answer == b"\x16\x12"
        assert device.wait_until(lambda p: len(p.printed()) == 1, timeout=30)
        assert device.printed() == [b"ABCD"]
        assert device.status_queries == 2


def test_a_query_split_across_reads_is_still_a_query() -> None:
    payload, carry, queries = split_queries(b"XY\x10")
    assert (payload, carry, queries) == (b"XY", b"\x10", [])
    payload, carry, queries = split_queries(carry + b"\x04\x02Z")
    assert (payload, carry, queries) == (b"Z", b"", [2])


def test_bytes_sent_while_paper_is_out_are_held_then_printed() -> None:
    with VirtualPrinter() as device:
        device.state = VirtualState.PAPER_OUT
        assert send(device, b"\x10\x04\x04") == STATUS_ANSWERS[VirtualState.PAPER_OUT][3:]
        send(device, b"slip one")
        assert device.wait_until(lambda p: p.jobs()[-1].closed, timeout=30)
        assert device.printed() == []
        assert device.jobs()[0].held == b"slip one"
        device.state = VirtualState.OK
        assert device.printed() == [b"slip one"]


def test_jobs_print_in_the_order_they_arrived() -> None:
    with VirtualPrinter() as device:
        device.state = VirtualState.COVER_OPEN
        send(device, b"first")
        send(device, b"second")
        device.state = VirtualState.PAPER_NEAR_END
        assert device.printed() == [b"first", b"second"]
        device.clear()
        assert device.jobs() == []


def test_the_virtual_kind_runs_the_real_driver_against_its_own_printer(tmp_path: Path) -> None:
    config = VirtualPrinterConfig(kind="virtual", status_timeout_s=0.5)
    printer = VirtualNetworkPrinter(config, cache_dir=tmp_path)

    async def scenario() -> None:
        assert (await printer.status()).state is PrinterState.ONLINE
        await printer.print(RECEIPT)

    asyncio.run(scenario())
    assert printer.device.wait_until(lambda p: len(p.printed()) == 1, timeout=30)
    asyncio.run(printer.close())
    assert "Café € 1".encode("cp858") in printer.device.printed()[0]


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def serial_driver(path: str, tmp_path: Path) -> EscposPrinter:
    config = SerialPrinterConfig(
        kind="serial", port=path, flow_control="none", status_timeout_s=0.3, timeout_s=1.0
    )
    return EscposPrinter(config, cache_dir=tmp_path)


def test_a_silent_serial_printer_is_no_reply_not_paper_ok(
    pty_pair: tuple[int, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, path = pty_pair
    asked = asked_waits(monkeypatch, escpos_links._SerialLink)
    status = asyncio.run(serial_driver(path, tmp_path).status())
    assert status.state is PrinterState.NO_REPLY
    # one query, allowed no more than the status timeout (0.3 s): no answer, no second one
    assert len(asked) == 1
    assert 0 < asked[0] <= 0.3


def answer_like_a_printer(master: int, received: bytearray, stop: threading.Event) -> None:
    carry = b""
    while not stop.is_set():
        if not select.select([master], [], [], 0.02)[0]:
            continue
        payload, carry, queries = split_queries(carry + os.read(master, 4096))
        received += payload
        for query in queries:
            os.write(master, STATUS_ANSWERS[VirtualState.PAPER_NEAR_END][query - 1 : query])


def test_a_serial_printer_that_answers_prints(pty_pair: tuple[int, str], tmp_path: Path) -> None:
    master, path = pty_pair
    received, stop = bytearray(), threading.Event()
    responder = threading.Thread(target=answer_like_a_printer, args=(master, received, stop))
    responder.start()
    try:
        driver = serial_driver(path, tmp_path)
        assert asyncio.run(driver.status()).state is PrinterState.PAPER_NEAR_END
        asyncio.run(driver.print(RECEIPT))
        deadline = time.monotonic() + 30  # a poll's bound, generous for a busy machine
        while b"\x1dV" not in received and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        responder.join(timeout=2)
    assert "Café € 1".encode("cp858") in received
    assert b"\x1dV" in received


def test_the_file_kind_writes_the_job_to_the_file(tmp_path: Path) -> None:
    target = tmp_path / "printer.bin"
    driver = EscposPrinter(FilePrinterConfig(kind="file", path=target), cache_dir=tmp_path)
    assert asyncio.run(driver.status()).state is PrinterState.ONLINE
    asyncio.run(driver.print(RECEIPT))
    data = target.read_bytes()
    assert data.startswith(b"\x1b@")
    assert "Café € 1".encode("cp858") in data


def test_the_control_port_switches_the_state_and_counts_jobs() -> None:
    with VirtualPrinter() as device:
        port = device.start_control()
        with socket.create_connection(("127.0.0.1", port), timeout=2) as control:
            lines = control.makefile("rw", encoding="ascii", newline="\n")

            def ask(command: str) -> str:
                lines.write(command + "\n")
                lines.flush()
                return lines.readline().strip()

            assert ask("state paper_out") == "state paper_out"
            assert device.state is VirtualState.PAPER_OUT
            send(device, b"held slip")
            assert device.wait_until(lambda p: p.jobs()[-1].closed, timeout=30)
            assert ask("jobs") == "jobs 1 printed 0 held_bytes 9"
            assert ask("state ok") == "state ok"
            assert ask("jobs") == "jobs 1 printed 1 held_bytes 0"
            assert ask("state molten").startswith("error: commands are")


def test_a_usb_printer_that_is_not_there_is_reported(tmp_path: Path) -> None:
    config = UsbPrinterConfig(kind="usb", vendor_id=0x04B8, product_id=0xFFFE)
    driver = EscposPrinter(config, cache_dir=tmp_path)
    status = asyncio.run(driver.status())
    assert status.state is PrinterState.NO_REPLY
    assert "USB 04b8:fffe cannot be reached" in status.detail
    with pytest.raises(PrinterError, match="cannot be reached"):
        asyncio.run(driver.print(RECEIPT))
