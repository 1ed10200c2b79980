"""The ESC/POS reader of the virtual printer (``drivers/escpos_text.py``): the bytes the
driver really sends for a receipt, read back as the lines a person sees on the slip."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from drivers.escpos_render import render
from drivers.escpos_text import TextReceipts, escpos_text
from register_agent.config import NetworkPrinterConfig, ReceiptConfig
from register_agent.receipts.layout import Receipt, SaleLine, layout_receipt

SHOP = ReceiptConfig(header=("Bakkerij Jansen",), footer=("Tot ziens!",))
SOLD = datetime(2026, 12, 4, 14, 3).astimezone()


def slip(profile: str = "TM-T20II", code_page: str = "CP858") -> bytes:
    receipt = Receipt(
        sale_id="4711",
        lines=(SaleLine("Café crème", Decimal("3.50")),),
        total=Decimal("3.50"),
        qr_url="https://loyalty.example/t/abc",
        barcode="REGISTER-AGENT",
        sold_at=SOLD,
    )
    config = NetworkPrinterConfig(
        kind="network", host="127.0.0.1", port=9100, profile=profile, code_page=code_page
    )
    return render(layout_receipt(receipt, SHOP, 42), config)


def test_a_receipt_reads_back_line_by_line() -> None:
    lines = escpos_text(slip()).splitlines()
    assert lines[0].strip() == "Bakkerij Jansen"
    assert "Sale 4711                 2026-12-04 14:03" in lines
    assert "Café crème                           €3.50" in lines
    assert "[QR code: https://loyalty.example/t/abc]" in [line.strip() for line in lines]
    assert "[barcode: REGISTER-AGENT]" in [line.strip() for line in lines]
    assert lines[-1].endswith("(cut)")
    assert not any(char < " " for line in lines for char in line)


def test_text_is_read_in_the_code_page_the_job_chose() -> None:
    assert "Café crème                           €3.50" in escpos_text(slip(code_page="CP1252"))


def test_each_finished_receipt_gets_a_file_of_its_own(tmp_path: Path) -> None:
    receipts = TextReceipts(tmp_path / "receipts")
    receipts.write(slip())
    receipts.write(slip())
    files = sorted((tmp_path / "receipts").glob("*.txt"))
    assert [f.name for f in files] == ["receipt-0001.txt", "receipt-0002.txt"]
    assert "Sale 4711" in files[1].read_text(encoding="utf-8")
