"""The receipt logo: converting it to the printer's raster (Pillow: grey, scaled, dithered)
against taking it from the cache, as every receipt after the start does, and a receipt's
bytes with and without the logo. ``python -m bench.logo_raster`` runs this one alone."""

from __future__ import annotations

import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

import drivers.logo_raster as logos
from bench.measure import Figure, median, time_calls
from drivers.escpos_printer import prepare_escpos
from register_agent.config import NetworkPrinterConfig, ReceiptConfig
from register_agent.receipts.layout import Receipt, layout_receipt

ROUNDS = 50
DOTS = 576  # 80 mm paper at 203 dpi


def _shop_logo(path: Path) -> Path:
    """A logo as shops send them: 800 x 400, colour, a gradient, shapes, transparency."""
    picture = Image.new("RGBA", (800, 400), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    for x in range(800):
        draw.line((x, 0, x, 399), fill=(x * 255 // 800, 90, 255 - x * 255 // 800, 255))
    draw.ellipse((250, 50, 550, 350), fill=(255, 255, 255, 255), outline=(0, 0, 0, 255), width=12)
    draw.rectangle((340, 150, 460, 250), fill=(20, 20, 20, 255))
    picture.save(path)
    return path


def run() -> list[Figure]:
    from drivers.escpos_render import render  # noqa: PLC0415 (after prepare_escpos)

    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        prepare_escpos(folder / "escpos")
        logo = _shop_logo(folder / "logo.png")

        def convert() -> None:
            logos._cache.clear()
            logos.logo_raster(logo, DOTS)

        def from_disk() -> None:
            logos._cache.clear()
            logos.logo_raster(logo, DOTS, folder / "cache")

        converted = median(time_calls(convert, ROUNDS))
        logos.logo_raster(logo, DOTS, folder / "cache")  # on disk now
        restarted = median(time_calls(from_disk, ROUNDS))
        cached = median(time_calls(lambda: logos.logo_raster(logo, DOTS), ROUNDS * 10))

        printer = NetworkPrinterConfig(kind="network", host="127.0.0.1")
        receipt = Receipt(sale_id="4711", notes=("Croissant 2,50",))
        plain = layout_receipt(receipt, ReceiptConfig(), 42)
        with_logo = layout_receipt(receipt, ReceiptConfig(logo=logo), 42)
        before = logos.conversions
        bare = median(time_calls(lambda: render(plain, printer), ROUNDS))
        headed = median(time_calls(lambda: render(with_logo, printer), ROUNDS))
        assert logos.conversions == before, "a receipt converted the logo again"
    return [
        Figure(
            "logo from the memory cache (each receipt)",
            cached * 1e3,
            converted * 1e3,
            "ms",
            "converting it (once, at start)",
        ),
        Figure(
            "logo from the disk cache (a restart)",
            restarted * 1e3,
            converted * 1e3,
            "ms",
            "converting it",
        ),
        Figure("receipt bytes with the logo", headed * 1e3, bare * 1e3, "ms", "without"),
    ]


if __name__ == "__main__":
    for figure in run():
        print(figure.row())
