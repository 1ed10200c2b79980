"""The block's frame inside the till's job (``passthrough/block.py``) and the sale id a
printed receipt gets (``passthrough/desk.py``), table-driven."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

import pytest

from register_agent.config import NetworkPrinterConfig, ReceiptConfig
from register_agent.counter.messages import LoyaltyBlock
from register_agent.passthrough.block import (
    DEFAULT_MODES,
    ShapedRender,
    block_bytes,
    block_layout,
    till_modes,
)
from register_agent.passthrough.desk import sale_id_of
from register_agent.passthrough.escpos_reader import read_commands
from register_agent.passthrough.template import FoundReceipt
from register_agent.receipts.layout import QrCode, TextLine
from register_agent.runtime import devices

DAY = datetime(2026, 12, 5, 10, 30)


@pytest.mark.parametrize(
    ("job", "restored"),
    [
        (b"Hello\n", b""),  # nothing set: the defaults stand
        (b"\x1ba\x01\x1b!\x30Big\n\x1ba\x00", b"\x1b!\x30\x1ba\x00"),  # the last of each
        (b"\x1bt\x13\x1bE\x01x\n\x1b@plain\n", b""),  # ESC @ reset them all
        (b"\x1b@\x1bt\x10\x1d!\x11Total 5,00\n", b"\x1bt\x10\x1d!\x11"),
    ],
)
def test_the_tills_last_modes_come_back_after_the_block(job: bytes, restored: bytes) -> None:
    assert till_modes(job, read_commands(job)) == restored


def test_the_block_starts_on_a_line_of_its_own_and_gives_the_till_its_modes_back() -> None:
    layout = block_layout(
        LoyaltyBlock(state="credited", lines=(), credits=14, balance=164), ReceiptConfig(), 42
    )
    job = b"\x1ba\x01Total 14,25"  # the till's last line not ended yet
    framed = block_bytes(layout, lambda _: b"<block>", job, read_commands(job))
    assert framed == b"\n" + DEFAULT_MODES + b"<block>" + DEFAULT_MODES + b"\x1ba\x01"


@pytest.mark.parametrize(
    ("block", "wanted"),
    [
        (LoyaltyBlock(state="credited", lines=(), credits=14, balance=164), "Points earned"),
        (LoyaltyBlock(state="pending", lines=()), "points will be added"),
        (LoyaltyBlock(state="none", lines=("Loyalty points cannot be collected.",)), "cannot"),
    ],
)
def test_the_block_is_the_slips_loyalty_part_without_header_footer_or_cut(
    block: LoyaltyBlock, wanted: str
) -> None:
    settings = ReceiptConfig(header=("Bakkerij",), footer=("Tot ziens",))
    layout = block_layout(block, settings, 42)
    assert wanted in layout.plain_text()
    assert "Bakkerij" not in layout.plain_text()
    assert "Tot ziens" not in layout.plain_text()
    assert all(
        isinstance(e, TextLine | QrCode) or type(e).__name__ == "Rule" for e in layout.elements
    )


def test_a_qr_block_carries_its_url() -> None:
    block = LoyaltyBlock(state="qr", lines=(), qr_url="https://example.test/t/1")
    [qr] = [e for e in block_layout(block, ReceiptConfig(), 42).elements if isinstance(e, QrCode)]
    assert qr.data == "https://example.test/t/1"


@pytest.mark.parametrize(
    ("receipt_no", "job", "wanted"),
    [
        ("4711", b"a", "pt-20261205-4711"),
        ("Bon 12/7 #3", b"a", "pt-20261205-Bon-12/7-3"),  # only what a sale id may hold
        (None, b"job one", "pt-" + hashlib.sha256(b"job one").hexdigest()[:40]),
        ("###", b"x", "pt-" + hashlib.sha256(b"x").hexdigest()[:40]),
    ],
)
def test_the_sale_id_comes_from_the_receipt_number_and_day_or_the_jobs_digest(
    receipt_no: str | None, job: bytes, wanted: str
) -> None:
    found = FoundReceipt(Decimal("14.25"), receipt_no, is_copy=False, cut_offset=None)
    assert sale_id_of(found, job, DAY) == wanted


@pytest.mark.parametrize("profile", ["TM-T88V", "TH230"])  # native QR, and one drawn
def test_a_block_rendered_by_its_shape_is_the_drivers_own_bytes(profile: str) -> None:
    """Two receipts' QR blocks: the driver's render of each, byte for byte, whether the
    printer draws the QR itself (the URL put into one render of the shape) or not."""
    printer = NetworkPrinterConfig(kind="network", host="127.0.0.1", profile=profile)
    render = devices.block_renderer(printer)
    shaped = ShapedRender(render)
    for number in ("1", "2", "3"):
        url = f"http://shop.test/l?unique_id=REG-pt-2026120{number}-77&hash=ab{number}"
        layout = block_layout(LoyaltyBlock(state="qr", lines=(), qr_url=url), ReceiptConfig(), 42)
        assert shaped(layout) == render(layout)
    plain = block_layout(LoyaltyBlock(state="none", lines=("No QR",)), ReceiptConfig(), 42)
    assert shaped(plain) == render(plain)
