"""The real ESC/POS driver against the virtual TCP printer on loopback, in every state."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from drivers import escpos_links
from drivers.escpos_printer import EscposPrinter
from drivers.virtual_printer import VirtualPrinter, VirtualState
from register_agent.config import NetworkPrinterConfig, ReceiptConfig
from register_agent.errors import PrinterError
from register_agent.receipts.layout import Receipt, ReceiptLayout, SaleLine, layout_receipt
from register_agent.receipts.printer import PrinterState
from tests.support.asked import asked_waits
from tests.support.ports import closed_port

URL = "https://loyalty.piggy.eu/t/6f1c2a94-5c2e-4a8e-9d0b-1f2e3d4c5b6a"
STATUS_TIMEOUT = 0.3


@pytest.fixture
def printer_device() -> Iterator[VirtualPrinter]:
    with VirtualPrinter() as device:
        yield device


def driver_for(device: VirtualPrinter, tmp_path: Path, **changes: object) -> EscposPrinter:
    host, port = device.address
    options: dict[str, object] = {
        "kind": "network",
        "host": host,
        "port": port,
        "status_timeout_s": STATUS_TIMEOUT,
        "timeout_s": 1.0,
    }
    options.update(changes)
    config = NetworkPrinterConfig.model_validate(options)
    return EscposPrinter(config, cache_dir=tmp_path / "cache")


@pytest.fixture
def driver(printer_device: VirtualPrinter, tmp_path: Path) -> EscposPrinter:
    return driver_for(printer_device, tmp_path)


def receipt(width: int = 42, language: str = "nl") -> ReceiptLayout:
    return layout_receipt(
        Receipt(
            sale_id="4711",
            lines=(SaleLine("Café crème", Decimal("3.50")),),
            total=Decimal("3.50"),
            qr_url=URL,
        ),
        ReceiptConfig(language=language, header=("Bakkerij Jansen",)),
        width,
    )


def qr_payloads(data: bytes) -> list[bytes]:
    """The data of every 'store QR data' command: GS ( k pL pH 49 80 48 d1..dk."""
    found = []
    for match in re.finditer(rb"\x1d\(k(..)1P0", data, re.DOTALL):
        length = match.group(1)[0] + 256 * match.group(1)[1] - 3
        found.append(data[match.end() : match.end() + length])
    return found


STATES = [
    (VirtualState.OK, PrinterState.ONLINE),
    (VirtualState.PAPER_NEAR_END, PrinterState.PAPER_NEAR_END),
    (VirtualState.PAPER_OUT, PrinterState.PAPER_OUT),
    (VirtualState.COVER_OPEN, PrinterState.COVER_OPEN),
    (VirtualState.OFFLINE, PrinterState.OFFLINE),
    (VirtualState.SILENT, PrinterState.NO_REPLY),
]


@pytest.mark.parametrize(("virtual", "expected"), STATES)
def test_status_reports_every_state(
    printer_device: VirtualPrinter,
    driver: EscposPrinter,
    virtual: VirtualState,
    expected: PrinterState,
) -> None:
    printer_device.state = virtual
    status = asyncio.run(driver.status())
    assert status.state is expected
    assert status.message
    assert printer_device.jobs() == []  # asking is not printing


@pytest.mark.parametrize(("virtual", "expected"), STATES)
def test_printing_in_every_state(
    printer_device: VirtualPrinter,
    driver: EscposPrinter,
    virtual: VirtualState,
    expected: PrinterState,
) -> None:
    printer_device.state = virtual
    if expected in (PrinterState.ONLINE, PrinterState.PAPER_NEAR_END):
        asyncio.run(driver.print(receipt()))
        assert printer_device.wait_until(lambda p: len(p.printed()) == 1, timeout=30)
    else:
        with pytest.raises(PrinterError) as refused:
            asyncio.run(driver.print(receipt()))
        assert str(refused.value)  # the cashier's sentence
        assert printer_device.jobs() == []  # nothing sent to a printer that cannot print


def test_the_printed_bytes_carry_text_euro_sign_qr_and_cut(
    printer_device: VirtualPrinter, driver: EscposPrinter
) -> None:
    asyncio.run(driver.print(receipt()))
    assert printer_device.wait_until(lambda p: len(p.printed()) == 1, timeout=30)
    data = printer_device.printed()[0]
    assert data.startswith(b"\x1b@\x1bt\x13")  # reset, then code page 19 = CP858
    assert "Café crème".encode("cp858") in data
    assert "€ 3,50".encode("cp858") == b"\xd5 3,50"
    assert b"\xd5 3,50" in data
    assert b"Bakkerij Jansen" in data
    assert qr_payloads(data) == [URL.encode()]
    assert b"\x1d(k\x03\x001Q0" in data  # print the stored QR symbol
    assert re.search(rb"\x1dV[\x00\x01]", data[-8:])  # the cut comes last
    assert b"\x10\x04" not in data  # status queries were answered, not printed


def test_the_code_page_is_the_configured_one(
    printer_device: VirtualPrinter, tmp_path: Path
) -> None:
    driver = driver_for(printer_device, tmp_path, code_page="CP1252")
    asyncio.run(driver.print(receipt()))
    assert printer_device.wait_until(lambda p: len(p.printed()) == 1, timeout=30)
    data = printer_device.printed()[0]
    assert data.startswith(b"\x1b@\x1bt\x10")  # code page 16 = WPC1252
    assert "Café crème".encode("cp1252") in data
    assert b"\x80 3,50" in data


def test_a_silent_printer_times_out_quickly(
    printer_device: VirtualPrinter, driver: EscposPrinter, monkeypatch: pytest.MonkeyPatch
) -> None:
    printer_device.state = VirtualState.SILENT
    asked = asked_waits(monkeypatch, escpos_links._NetworkLink)
    status = asyncio.run(driver.status())
    assert status.state is PrinterState.NO_REPLY
    # one query, allowed no more than the status timeout: no answer, no second query
    assert len(asked) == 1
    assert 0 < asked[0] <= STATUS_TIMEOUT
    asked.clear()
    with pytest.raises(PrinterError, match="does not answer"):
        asyncio.run(driver.print(receipt()))
    assert len(asked) == 1
    assert 0 < asked[0] <= STATUS_TIMEOUT
    assert printer_device.printed() == []  # nothing sent to a printer that is not there


def test_an_absent_printer_is_reported_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = NetworkPrinterConfig(
        kind="network", host="127.0.0.1", port=closed_port(), timeout_s=1.0
    )
    driver = EscposPrinter(config, cache_dir=tmp_path)
    # not waited for: a refused connection is the answer, no status query is made
    asked = asked_waits(monkeypatch, escpos_links._NetworkLink)
    status = asyncio.run(driver.status())
    assert status.state is PrinterState.NO_REPLY
    assert "cannot be reached" in status.detail
    with pytest.raises(PrinterError, match="cannot be reached"):
        asyncio.run(driver.print(receipt()))
    assert asked == []


def test_paper_running_out_mid_job_holds_it_until_a_new_roll(
    printer_device: VirtualPrinter, driver: EscposPrinter
) -> None:
    printer_device.run_out_of_paper_after(100)
    with pytest.raises(PrinterError, match="in the middle of the receipt"):  # printed again
        asyncio.run(driver.print(receipt()))  # the printer took the job into its buffer
    assert printer_device.wait_until(lambda p: bool(p.jobs()) and p.jobs()[0].closed, timeout=30)
    job = printer_device.jobs()[0]
    assert len(job.printed) == 100
    assert job.held
    assert printer_device.printed() == []
    assert asyncio.run(driver.status()).state is PrinterState.PAPER_OUT
    with pytest.raises(PrinterError, match="out of paper"):
        asyncio.run(driver.print(receipt()))  # the next slip waits in the journal instead

    printer_device.state = VirtualState.OK  # a new roll
    assert printer_device.printed() == [job.data]  # the held job, whole
    assert asyncio.run(driver.status()).state is PrinterState.ONLINE


def test_a_closed_driver_refuses_work(driver: EscposPrinter) -> None:
    asyncio.run(driver.close())
    with pytest.raises(PrinterError, match="closed"):
        asyncio.run(driver.print(receipt()))
