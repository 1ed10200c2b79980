"""The receipt preview PNG: a person sees the slip, and its QR code scans (zbarimg)."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from drivers.receipt_preview import write_preview
from register_agent.config import ReceiptConfig
from register_agent.receipts.layout import Receipt, SaleLine, layout_receipt

URL = "https://loyalty.piggy.eu/t/6f1c2a94-5c2e-4a8e-9d0b-1f2e3d4c5b6a?s=4711"


def zbar(path: Path) -> list[str]:
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is not installed (Debian zbar-tools; scripts/setup.sh installs it)")
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", str(path)],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return result.stdout.split()


@pytest.mark.parametrize("width", [32, 42, 48])
def test_the_qr_code_in_the_preview_decodes_to_the_url(tmp_path: Path, width: int) -> None:
    receipt = Receipt(
        lines=(SaleLine("Café crème", Decimal("3.50")),),
        total=Decimal("3.50"),
        qr_url=URL,
        barcode="4711",
    )
    layout = layout_receipt(receipt, ReceiptConfig(header=("Bakkerij",), language="nl"), width)
    path = tmp_path / "receipt.png"
    write_preview(layout, path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > width * 8  # as wide as the paper's characters
    decoded = zbar(path)
    assert URL in decoded
    assert "4711" in decoded  # the barcode scans too
