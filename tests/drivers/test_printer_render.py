"""Receipt layouts turned into ESC/POS bytes: code page, QR sizing, alignment, fallbacks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from drivers.escpos_render import render
from drivers.escpos_status import parse_status
from drivers.virtual_printer import STATUS_ANSWERS, VirtualState
from register_agent.config import FilePrinterConfig, ReceiptConfig
from register_agent.errors import ConfigError
from register_agent.receipts.layout import Receipt, ReceiptLayout, layout_receipt
from register_agent.receipts.printer import PrinterState

URL = "https://loyalty.piggy.eu/t/6f1c2a94-5c2e-4a8e-9d0b-1f2e3d4c5b6a"


def config(**changes: object) -> FilePrinterConfig:
    return FilePrinterConfig.model_validate({"kind": "file", "path": "/dev/null", **changes})


def layout(width: int = 42) -> ReceiptLayout:
    receipt = Receipt(total=Decimal("12.50"), qr_url=URL, barcode="4711")
    return layout_receipt(receipt, ReceiptConfig(header=("Shop",)), width)


def qr_module_size(data: bytes) -> int:
    match = re.search(rb"\x1d\(k\x03\x001C(.)", data, re.DOTALL)
    assert match, "no native QR module size command"
    return match.group(1)[0]


def test_the_qr_code_is_smaller_on_58_mm_paper_but_still_large() -> None:
    wide = qr_module_size(render(layout(42), config(paper_width_mm=80)))
    narrow = qr_module_size(render(layout(32), config(paper_width_mm=58)))
    assert wide == 8
    assert narrow == 6
    # a v4 symbol (33 modules) plus quiet zone must fit 384 dots of 58 mm paper
    assert (33 + 8) * narrow <= 384


def next_alignment(data: bytes, marker: bytes) -> int:
    """The alignment (ESC a n) first set after ``marker``."""
    after = data[data.index(marker) :]
    return after[after.index(b"\x1ba") + 2]


def test_alignment_is_back_to_left_after_every_centred_block() -> None:
    data = render(layout(), config())
    assert next_alignment(data, b"\x1d(k\x03\x001Q0") == 0  # after the QR and its caption
    assert next_alignment(data, b"\x1dk") == 0  # after the barcode
    assert next_alignment(data, b"Shop") == 0  # after the centred header


def test_a_printer_without_native_qr_gets_an_image() -> None:
    data = render(layout(32), config(profile="ZJ-5870", paper_width_mm=58, code_page="CP1252"))
    assert b"\x1d(k" not in data
    assert b"\x1dv0" in data  # a raster image
    assert len(data) > 1000


def test_an_unknown_profile_or_code_page_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"printer\.profile"):
        render(layout(), config(profile="TM-NOPE"))
    with pytest.raises(ConfigError, match=r"printer\.code_page"):
        render(layout(), config(profile="TM-U220", code_page="CP858"))


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (VirtualState.OK, PrinterState.ONLINE),
        (VirtualState.PAPER_NEAR_END, PrinterState.PAPER_NEAR_END),
        (VirtualState.PAPER_OUT, PrinterState.PAPER_OUT),
        (VirtualState.COVER_OPEN, PrinterState.COVER_OPEN),
        (VirtualState.OFFLINE, PrinterState.OFFLINE),
    ],
)
def test_the_measured_status_bytes_parse(state: VirtualState, expected: PrinterState) -> None:
    answers = STATUS_ANSWERS[state]
    assert parse_status(dict(enumerate(answers, start=1))).state is expected


def test_a_missing_or_malformed_reply_is_no_reading() -> None:
    assert parse_status({}).state is PrinterState.NO_REPLY
    assert parse_status({1: 0x16, 2: 0x12, 3: 0x12}).state is PrinterState.NO_REPLY
    assert parse_status({1: 0x16, 2: 0x12, 3: 0x12, 4: 0x00}).state is PrinterState.NO_REPLY
    autocutter_error = {1: 0x16, 2: 0x12, 3: 0x1A, 4: 0x12}
    assert parse_status(autocutter_error).state is PrinterState.OFFLINE


def test_text_is_sent_in_the_one_code_page_and_what_it_lacks_becomes_a_question_mark() -> None:
    receipt = layout_receipt(Receipt(notes=("Łódź à € ß",)), ReceiptConfig(), 42)
    data = render(receipt, config())
    assert data.count(b"\x1bt") == 1  # chosen once, never switched mid-text
    assert b"?\xa2d? \x85 \xd5 \xe1\n" in data  # CP858: ó=A2 à=85 €=D5 ß=E1


def _print_in_a_fresh_interpreter(directory: Path) -> None:
    """A file printer prints an empty receipt with its cache in ``directory / 'cache'``.
    A fresh interpreter: escpos reads the variable once, when it is first imported."""
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from drivers.escpos_printer import EscposPrinter\n"
        "from register_agent.config import FilePrinterConfig\n"
        "from register_agent.receipts.layout import ReceiptLayout\n"
        "config = FilePrinterConfig(kind='file', path=Path(sys.argv[1]) / 'out.bin')\n"
        "printer = EscposPrinter(config, cache_dir=Path(sys.argv[1]) / 'cache')\n"
        "asyncio.run(printer.print(ReceiptLayout(width=32)))\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    environment["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    subprocess.run(
        [sys.executable, "-c", script, str(directory)], env=environment, check=True, timeout=30
    )


def test_the_capabilities_cache_goes_where_the_driver_is_told(tmp_path: Path) -> None:
    _print_in_a_fresh_interpreter(tmp_path)
    assert list((tmp_path / "cache").glob("*.capabilities.pickle"))
    assert (tmp_path / "out.bin").read_bytes().startswith(b"\x1b@")


@pytest.mark.parametrize("kept", [0, 1000], ids=["emptied", "cut-short"])
def test_a_cache_torn_by_a_power_cut_is_built_again_and_the_receipt_prints(
    tmp_path: Path, kept: int
) -> None:
    """escpos empties its cache file before it writes it, and trusts any file newer than its
    database: a cut in between used to fail every later start's prints."""
    _print_in_a_fresh_interpreter(tmp_path)
    (cache,) = (tmp_path / "cache").glob("*.capabilities.pickle")
    whole = cache.read_bytes()
    cache.write_bytes(whole[:kept])  # newer than the database, as escpos left it
    (tmp_path / "out.bin").unlink()
    _print_in_a_fresh_interpreter(tmp_path)
    assert (tmp_path / "out.bin").read_bytes().startswith(b"\x1b@")
    assert cache.read_bytes() == whole  # built again, whole


def test_a_long_token_url_still_fits_58_mm_paper_with_its_quiet_zone() -> None:
    import qrcode  # noqa: PLC0415 (only this test measures symbols)

    url = "https://loyalty.piggy.eu/t/" + "x" * 400
    layout58 = layout_receipt(Receipt(qr_url=url), ReceiptConfig(), 32)
    size = qr_module_size(render(layout58, config(paper_width_mm=58)))
    symbol = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    symbol.add_data(url)
    symbol.make(fit=True)
    assert 3 <= size < 6  # smaller than the preferred 6 dots, still well printable
    assert (symbol.modules_count + 8) * size <= 384
