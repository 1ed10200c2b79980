"""A receipt layout turned into ESC/POS bytes for one printer model (python-escpos' Dummy).

Every job starts from a reset printer in one code page that holds the euro sign, so what is
printed never depends on what the previous job left behind. The QR code is the printer's
own (``GS ( k``) where the profile has it, an image otherwise, sized for the paper.
"""

from __future__ import annotations

import contextlib
import io
import logging
from functools import cache
from pathlib import Path
from typing import Any

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from qrcode.util import MODE_8BIT_BYTE, QRData

from drivers.logo_raster import LogoError, logo_raster
from register_agent.config import (
    FilePrinterConfig,
    NetworkPrinterConfig,
    SerialPrinterConfig,
    UsbPrinterConfig,
)
from register_agent.errors import ConfigError
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

log = logging.getLogger(__name__)

PrinterSettings = NetworkPrinterConfig | SerialPrinterConfig | UsbPrinterConfig | FilePrinterConfig

#: printable dots of a 58 mm roll (48 mm printed) at 203 and 180 dpi
_DOTS_58 = {203: 384, 180: 360}
#: QR module size in dots: 0.75 mm on 58 mm paper and 1 mm on 80 mm at 203 dpi, which phones
#: read at arm's length; shrunk only when a long URL would not fit the paper
_QR_DOTS = {58: 6, 80: 8}
#: a CODE128 symbol is 11 modules a character, plus start, check, stop and quiet zones
_CODE128_MODULES = (11, 55)


def render(
    receipt: ReceiptLayout, config: PrinterSettings, logo_cache: Path | None = None
) -> bytes:
    """The bytes that print ``receipt`` on the printer described by ``config`` (a logo's
    raster kept on disk in ``logo_cache``)."""
    printer = _dummy(config.profile)
    # the model's profile, with its printable width set to the paper actually loaded
    printer.profile.profile_data = _profile_data(config.profile, config.paper_width_mm)
    if config.code_page not in printer.profile.get_code_pages():
        raise ConfigError(
            f"printer.code_page: {config.code_page} is not a code page of profile "
            f"{config.profile}; choose one of CP858, CP1252, ISO_8859-15 that it has"
        )
    printer.hw("INIT")
    return _render_body(printer, receipt, config, logo_cache)


def render_block(receipt: ReceiptLayout, config: PrinterSettings) -> bytes:
    """``receipt`` without the printer's reset: a block inside another program's job (the
    receipt pass-through), where ``ESC @`` would drop what that job left in the buffer."""
    printer = _dummy(config.profile)
    printer.profile.profile_data = _profile_data(config.profile, config.paper_width_mm)
    return _render_body(printer, receipt, config, None)


def _render_body(
    printer: Any, receipt: ReceiptLayout, config: PrinterSettings, logo_cache: Path | None
) -> bytes:
    # One fixed code page (ESC t n) instead of escpos' guessing: the euro sign and accented
    # letters then come out the same on every job.
    printer.magic.force_encoding(config.code_page)
    for element in receipt.elements:
        if isinstance(element, Logo):
            _logo(printer, element, logo_cache)
        else:
            _render_element(printer, element, receipt.width, config)
    return bytes(printer.output)


def printable_dots(profile: str, paper_width_mm: int) -> int:
    """The dots a line of the paper holds on printer model ``profile``."""
    return int(_profile_data(profile, paper_width_mm)["media"]["width"]["pixels"])


def _logo(printer: Any, logo: Logo, logo_cache: Path | None) -> None:
    try:
        raster = logo_raster(Path(logo.path), _printable_dots(printer), logo_cache)
    except LogoError as exc:  # a logo gone since the start costs the logo, not the receipt
        log.warning("%s; the receipt is printed without it", exc)
        return
    printer._raw(raster.gs_v_0)


def _render_element(printer: Any, element: Element, width: int, config: PrinterSettings) -> None:
    match element:
        case TextLine():
            _text(printer, element)
        case Rule():
            printer.textln("-" * width)
        case QrCode():
            _qr(printer, element, config)
        case Barcode():
            _barcode(printer, element)
        case Cut():
            printer.cut()


def _text(printer: Any, line: TextLine) -> None:
    plain = line.align == "left" and not line.bold and not line.large and not line.small
    if not plain:
        printer.set(
            align=line.align,
            bold=line.bold,
            double_width=line.large,
            double_height=line.large,
            normal_textsize=not line.large,
        )
    if line.small:
        printer.set(font="b")  # ESC M 1: the printer's small font (after ESC !, which resets it)
    printer.textln(line.text)
    if line.small:
        printer.set(font="a")
    if not plain:
        _reset_style(printer)


def _reset_style(printer: Any) -> None:
    printer.set(align="left", bold=False, normal_textsize=True)


def _qr(printer: Any, code: QrCode, config: PrinterSettings) -> None:
    dots = _qr_module_dots(code.data, _printable_dots(printer), config.paper_width_mm)
    if printer.profile.supports("qrCode"):
        # Native QR ignores escpos' center flag but follows ESC a like text does.
        printer.set(align="center")
        printer.qr(code.data, ec=QR_ECLEVEL_M, size=dots, native=True)
    else:
        printer.qr(code.data, ec=QR_ECLEVEL_M, size=dots, native=False, center=True)
        printer.set(align="center")
    if code.caption:
        printer.textln(code.caption)
    _reset_style(printer)


def _qr_module_dots(data: str, printable: int, paper_width_mm: int) -> int:
    """The largest module size up to the paper's preferred one that fits with quiet zones."""
    version = _qr_version(len(data.encode("utf-8")))
    modules = 4 * version + 17 + 8  # 4 modules of quiet zone each side
    return max(1, min(_QR_DOTS[paper_width_mm], printable // modules, 16))


@cache
def _qr_version(length: int) -> int:
    """The QR version (its size) of ``length`` bytes in byte mode at error correction M.

    Byte mode is the longest encoding of any content: an encoder that writes a run of
    digits or capitals denser (qrcode, a printer's ``GS ( k``) never needs a larger version,
    so a module size chosen for it always fits the paper. It depends on the length alone,
    so it is worked out once per length: every receipt's QR of the same shape (the loyalty
    token's URL) then costs a look-up where qrcode's ``best_fit`` took 1 to 4 ms a receipt
    (bench/README.md, the receipt pass-through).
    """
    symbol = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    symbol.add_data(QRData(b"\0" * length, mode=MODE_8BIT_BYTE))
    # best_fit finds the version without drawing the symbol and trying its eight masks
    return int(symbol.best_fit())


def _barcode(printer: Any, code: Barcode) -> None:
    per_char, fixed = _CODE128_MODULES
    modules = per_char * len(code.data) + fixed
    module_dots = 3 if modules * 3 <= _printable_dots(printer) else 2
    if modules * module_dots > _printable_dots(printer):
        printer.set(align="center")
        printer.textln(code.data)  # too long to scan on this paper: the text still helps
    else:
        # escpos print()s "Using hardware barcode renderer" to stdout, the daemon's journal
        with contextlib.redirect_stdout(io.StringIO()):
            printer.barcode(
                "{B" + code.data, "CODE128", height=64, width=module_dots, function_type="B"
            )
    # barcode(align_ct=True) leaves the printer centred
    _reset_style(printer)


def _printable_dots(printer: Any) -> int:
    return int(printer.profile.profile_data["media"]["width"]["pixels"])


def _dummy(profile: str) -> Any:
    try:
        return Dummy(profile=profile)
    except KeyError as exc:
        raise ConfigError(
            f"printer.profile: {profile!r} is not in python-escpos' capabilities database; "
            "use your model's name (e.g. TM-T20II, TM-T88V) or 'default'"
        ) from exc


@cache
def _profile_data(name: str, paper_width_mm: int) -> dict[str, Any]:
    """The capabilities of profile ``name`` with the printable width of the paper."""
    from escpos.capabilities import get_profile_class  # noqa: PLC0415

    data = dict(get_profile_class(name).profile_data)
    media = dict(data.get("media") or {})
    dpi: int = media["dpi"] if isinstance(media.get("dpi"), int) else 203
    dots = media.get("width", {}).get("pixels")
    if paper_width_mm == 58 or not isinstance(dots, int):
        dots = _DOTS_58.get(dpi, 384) if paper_width_mm == 58 else 576
    media["width"] = {"mm": 48 if paper_width_mm == 58 else 72, "pixels": dots}
    media["dpi"] = dpi
    data["media"] = media
    return data
