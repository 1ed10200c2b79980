"""A receipt layout drawn as a PNG (Pillow), so a person sees the slip before it is printed.

The same elements as the ESC/POS renderer, on a white strip as many characters wide as the
paper: text in a monospaced font, the QR code with its quiet zone (it must scan from the
image), the barcode, and a dashed line where the cutter cuts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import barcode
import qrcode
from barcode.writer import ImageWriter
from PIL import Image, ImageDraw, ImageFont

from drivers.logo_raster import LogoError, logo_raster
from register_agent.receipts.layout import (
    Barcode,
    Cut,
    Element,
    Logo,
    QrCode,
    ReceiptLayout,
    Rule,
    TextLine,
)

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_FONT_SIZE = 20
_MARGIN = 16
_INK = (0, 0, 0)
_PAPER = (255, 255, 255)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class _Style:
    regular: Font
    bold: Font
    large: Font
    large_bold: Font
    small: Font
    cell: int
    line: int


def write_preview(receipt: ReceiptLayout, path: Path) -> None:
    """Write the preview of ``receipt`` to ``path`` as a PNG."""
    render_preview(receipt).save(path, format="PNG")


def render_preview(receipt: ReceiptLayout) -> Image.Image:
    """The receipt as an image the width of the paper."""
    style = _style()
    width = receipt.width * style.cell + 2 * _MARGIN
    blocks = [_block(element, receipt.width, style) for element in receipt.elements]
    height = sum(block.height for block in blocks) + 2 * _MARGIN
    image = Image.new("RGB", (width, height), _PAPER)
    top = _MARGIN
    for block in blocks:
        image.paste(block, ((width - block.width) // 2, top))
        top += block.height
    return image


def _block(element: Element, columns: int, style: _Style) -> Image.Image:
    match element:
        case TextLine():
            return _text(element, columns, style)
        case Rule():
            return _text(TextLine("-" * columns), columns, style)
        case QrCode():
            return _qr(element, columns, style)
        case Barcode():
            return _barcode(element.data, columns * style.cell)
        case Cut():
            return _cut(columns * style.cell, style)
        case Logo():
            return _logo(element, columns * style.cell)


def _logo(logo: Logo, paper: int) -> Image.Image:
    """The printer's bits of the logo, fitted to the preview's paper (nothing when it
    cannot be read: the printer prints without it too)."""
    try:
        return logo_raster(Path(logo.path), paper).image().convert("RGB")
    except LogoError:
        return Image.new("RGB", (paper, 1), _PAPER)


def _text(line: TextLine, columns: int, style: _Style) -> Image.Image:
    scale = 2 if line.large else 1
    font = {
        (False, False): style.regular,
        (True, False): style.bold,
        (False, True): style.large,
        (True, True): style.large_bold,
    }[(line.bold, line.large)]
    if line.small:  # the printer's font B: smaller letters in the same columns
        font = style.small
    image = Image.new("RGB", (columns * style.cell, style.line * scale), _PAPER)
    draw = ImageDraw.Draw(image)
    used = len(line.text) * scale
    start = {"left": 0, "center": (columns - used) // 2, "right": columns - used}[line.align]
    # Character by character on a fixed grid: the printer's columns, whatever the font.
    for index, char in enumerate(line.text):
        draw.text(((start + index * scale) * style.cell, 0), char, font=font, fill=_INK)
    return image


def _qr(code: QrCode, columns: int, style: _Style) -> Image.Image:
    symbol = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    symbol.add_data(code.data)
    symbol.make(fit=True)
    paper = columns * style.cell
    symbol.box_size = max(2, int(paper * 0.6) // (symbol.modules_count + 8))
    picture = symbol.make_image(fill_color="black", back_color="white").get_image()
    caption = _text(TextLine(code.caption, align="center"), columns, style)
    image = Image.new("RGB", (paper, picture.height + caption.height), _PAPER)
    image.paste(picture.convert("RGB"), ((paper - picture.width) // 2, 0))
    image.paste(caption, (0, picture.height))
    return image


def _barcode(data: str, paper: int) -> Image.Image:
    options = {"module_width": 0.25, "module_height": 10.0, "quiet_zone": 4.0, "dpi": 203}
    picture: Image.Image = barcode.get("code128", data, writer=ImageWriter()).render(options)
    if picture.width > paper:
        picture = picture.resize((paper, picture.height))
    return picture.convert("RGB")


def _cut(paper: int, style: _Style) -> Image.Image:
    image = Image.new("RGB", (paper, style.line), _PAPER)
    draw = ImageDraw.Draw(image)
    for x in range(0, paper, 12):
        draw.line((x, style.line // 2, x + 6, style.line // 2), fill=_INK, width=1)
    return image


def _style() -> _Style:
    regular = _font("DejaVuSansMono.ttf", _FONT_SIZE)
    bold = _font("DejaVuSansMono-Bold.ttf", _FONT_SIZE)
    cell = round(regular.getlength("M")) if hasattr(regular, "getlength") else 12
    return _Style(
        regular=regular,
        bold=bold,
        large=_font("DejaVuSansMono.ttf", _FONT_SIZE * 2),
        large_bold=_font("DejaVuSansMono-Bold.ttf", _FONT_SIZE * 2),
        small=_font("DejaVuSansMono.ttf", _FONT_SIZE * 3 // 4),
        cell=max(cell, 8),
        line=_FONT_SIZE + 6,
    )


def _font(name: str, size: int) -> Font:
    """DejaVu Sans Mono (it has € and accents) where installed, Pillow's own font otherwise."""
    for directory in _FONT_DIRS:
        if (directory / name).is_file():
            return ImageFont.truetype(str(directory / name), size)
    return ImageFont.load_default(size)
