"""ESC/POS jobs as python-escpos writes them, made at test time: a driver's bytes, not ours.

The pass-through's tests read these beside the recorded corpus of ``tests/fixtures/escpos/``
(README there): text in two code pages, a native QR code, an image in each of python-escpos'
three ways (``bitImageRaster`` = ``GS v 0``, ``graphics`` = ``GS ( L``, ``bitImageColumn``
= ``ESC *``), bar codes in both ``GS k`` forms, a drawer pulse and a cut. Each maker returns
the job's bytes; ``STREAMS`` names them with words and amounts their text must show.
"""

from __future__ import annotations

from collections.abc import Callable

from escpos.printer import Dummy
from PIL import Image, ImageDraw

#: the profile of the agent's default printer (``[printer] profile``)
PROFILE = "TM-T20II"


def _picture(width: int = 96, height: int = 48) -> Image.Image:
    picture = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((2, 2, width - 3, height - 3), outline=0)
    # a picture whose bytes spell text: a reader that took image bytes for text would
    # find an amount here
    draw.text((8, 16), "TOTAL 99,99", fill=0)
    return picture


def shop_receipt(*, copy: bool = False, total: str = "12,50") -> bytes:
    """A Dutch café's receipt: header, items, TOTAAL, receipt number, QR, drawer, cut."""
    printer = Dummy(profile=PROFILE)
    printer.hw("INIT")
    printer.charcode("CP858")
    printer.set(align="center", bold=True)
    printer.text("KOFFIEHUIS DE BOOG\n")
    printer.set(align="center", bold=False)
    printer.text("Bonnr: 2024-00117\n")
    if copy:
        printer.text("*** KOPIE ***\n")
    printer.set(align="left")
    printer.text("Cappuccino                  3,20 €\n")
    printer.text("Appeltaart met slagroom     4,75 €\n")
    printer.text("Jus d'orange                4,55 €\n")
    printer.set(bold=True)
    printer.text(f"TOTAAL                     {total} €\n")
    printer.set(bold=False)
    printer.text("Pin                        12,50 €\n")
    printer.qr("https://example.com/bon/2024-00117", native=True, size=4)
    printer.cashdraw(2)
    printer.cut()
    return bytes(printer.output)


def images_receipt() -> bytes:
    """One picture three ways, then a line of text and a cut."""
    printer = Dummy(profile=PROFILE)
    printer.hw("INIT")
    printer.image(_picture(), impl="bitImageRaster")
    printer.image(_picture(), impl="graphics")
    printer.image(_picture(), impl="bitImageColumn")
    printer.text("Bedankt voor uw bezoek\n")
    printer.cut(mode="PART")
    return bytes(printer.output)


def raster_only_receipt() -> bytes:
    """A receipt a driver printed as one picture: nothing in it is text."""
    printer = Dummy(profile=PROFILE)
    printer.hw("INIT")
    printer.image(_picture(384, 200), impl="bitImageRaster")
    printer.cut()
    return bytes(printer.output)


def barcodes_receipt() -> bytes:
    """Bar codes in both ``GS k`` forms (NUL-ended and counted) and a price in CP1252."""
    printer = Dummy(profile=PROFILE)
    printer.hw("INIT")
    printer.charcode("CP1252")
    printer.text("Prijs: 2,99 €\n")
    printer.barcode("4006381333931", "EAN13")
    printer.barcode("{BABC-123", "CODE128", function_type="B")
    printer.barcode("12345678", "ITF")
    printer.cut()
    return bytes(printer.output)


#: name -> (maker, what its text must show)
STREAMS: dict[str, tuple[Callable[[], bytes], list[str]]] = {
    "shop_receipt": (shop_receipt, ["KOFFIEHUIS DE BOOG", "Bonnr: 2024-00117", "4,75 €"]),
    "images_receipt": (images_receipt, ["Bedankt voor uw bezoek"]),
    "raster_only_receipt": (raster_only_receipt, []),
    "barcodes_receipt": (barcodes_receipt, ["Prijs: 2,99 €"]),
}
