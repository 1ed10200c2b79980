"""ESC/POS bytes read back as plain text: what the virtual printer (``virtual_printer.py``)
shows of each receipt it prints, so ``register-agent run --sandbox`` has receipts a person
can read.

It knows the commands ``drivers/escpos_render.py`` sends through python-escpos (reset, code
page, print modes, alignment, native QR, CODE128, raster images, feed and cut) and skips any
other command by its length, so an unknown byte never shows up as text. Text is decoded in
the code page the job selected (``ESC t n``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

ESC, GS, DLE, LF = 0x1B, 0x1D, 0x10, 0x0A

#: ``ESC t n`` -> Python codec, for the code pages the driver may select
_CODE_PAGES = {0: "cp437", 2: "cp850", 16: "cp1252", 19: "cp858", 40: "iso8859_15"}
#: argument bytes of the ESC and GS commands that take a fixed number
_ESC_ARGS = dict.fromkeys(b"t!Ea-dJMe{GRr3 UV", 1) | {ord("@"): 0, ord("2"): 0, ord("p"): 3}
_GS_ARGS = dict.fromkeys(b"!BHafhwbr", 1) | {ord("L"): 2, ord("W"): 2}


@dataclass(frozen=True)
class TextReceipts:
    """Each receipt the printer finishes, as text in a file of ``directory`` (the printer of
    ``run --sandbox`` has no paper: this is where its receipts are seen)."""

    directory: Path
    width: int = 42

    def write(self, data: bytes) -> None:
        """One more receipt; the log line names its file."""
        shown = escpos_text(data, self.width)
        if not shown.strip():  # a job with nothing to read: the cash drawer's pulse
            log.info("virtual printer: a job with nothing printed (the drawer's pulse)")
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            number = len(list(self.directory.glob("receipt-*.txt"))) + 1
            path = self.directory / f"receipt-{number:04d}.txt"
            path.write_text(shown, encoding="utf-8")
        except OSError as exc:  # a full disk must not stop the printer
            log.warning("virtual printer: receipt not written as text: %s", exc)
            return
        log.info("virtual printer: receipt printed; read it in %s", path)


@dataclass
class _Page:
    """What has been read so far: finished lines and the one being filled."""

    width: int
    lines: list[str] = field(default_factory=list)
    text: bytearray = field(default_factory=bytearray)
    codec: str = "cp437"
    align: int = 0  # 0 left, 1 centre, 2 right
    qr: str = ""

    def line(self, value: str | None = None) -> None:
        """End the line being filled (or put ``value`` on a line of its own)."""
        if value is None:
            value = self.text.decode(self.codec, errors="replace")
            self.text.clear()
        # large text (the shop's name) is centred like the rest: a text file has one size
        if self.align == 1:
            value = value.center(self.width)
        elif self.align == 2:
            value = value.rjust(self.width)
        self.lines.append(value.rstrip())


def escpos_text(data: bytes, width: int = 42) -> str:
    """The receipt in ``data`` as lines of text, ``width`` characters wide."""
    page = _Page(width)
    at = 0
    while at < len(data):
        byte = data[at]
        if byte == ESC:
            at = _esc(page, data, at + 1)
        elif byte == GS:
            at = _gs(page, data, at + 1)
        elif byte == DLE:
            at += 3  # DLE EOT n / DLE ENQ n: real-time queries, nothing printed
        elif byte == LF:
            page.line()
            at += 1
        else:
            if byte >= 0x20:
                page.text.append(byte)
            at += 1
    if page.text:
        page.line()
    return "\n".join(page.lines) + "\n"


def _esc(page: _Page, data: bytes, at: int) -> int:
    command = data[at] if at < len(data) else 0
    arg = data[at + 1] if at + 1 < len(data) else 0
    if command == ord("@"):
        page.codec, page.align = "cp437", 0
    elif command == ord("t"):
        page.codec = _CODE_PAGES.get(arg, "cp437")
    elif command == ord("a"):
        page.align = arg % 48 if arg >= 48 else arg
    elif command == ord("*"):  # column image: m nL nH, then nL+nH*256 columns of 1 or 3 bytes
        columns = data[at + 2] + data[at + 3] * 256 if at + 3 < len(data) else 0
        page.line("[image]")
        return at + 4 + columns * (1 if arg in (0, 1) else 3)
    return at + 1 + _ESC_ARGS.get(command, 0)


def _gs(page: _Page, data: bytes, at: int) -> int:
    command = data[at] if at < len(data) else 0
    if command == ord("("):  # GS ( X pL pH payload
        size = data[at + 2] + data[at + 3] * 256 if at + 3 < len(data) else 0
        payload = data[at + 4 : at + 4 + size]
        if data[at + 1 : at + 2] == b"k":
            _qr(page, payload)
        return at + 4 + size
    if command == ord("k"):
        return _barcode(page, data, at + 1)
    if command == ord("v"):  # GS v 0 m xL xH yL yH, then the raster
        head = data[at + 3 : at + 7]
        size = (head[0] + head[1] * 256) * (head[2] + head[3] * 256) if len(head) == 4 else 0
        page.line("[image]")
        return at + 7 + size
    if command == ord("V"):
        mode = data[at + 1] if at + 1 < len(data) else 0
        page.line("-" * page.width + " (cut)")
        return at + (3 if mode >= 65 else 2)
    return at + 1 + _GS_ARGS.get(command, 0)


def _qr(page: _Page, payload: bytes) -> None:
    """``GS ( k``: function 80 stores the symbol's data, function 81 prints it."""
    if payload[:2] == b"1P":
        page.qr = payload[3:].decode("ascii", errors="replace")
    elif payload[:2] == b"1Q":
        page.line(f"[QR code: {page.qr}]")


def _barcode(page: _Page, data: bytes, at: int) -> int:
    """``GS k m``: NUL-ended data for m 0..6, else a length byte first."""
    kind = data[at] if at < len(data) else 0
    if kind <= 6:
        end = data.find(b"\0", at + 1)
        end = len(data) if end == -1 else end
        value, after = data[at + 1 : end], end + 1
    else:
        size = data[at + 1] if at + 1 < len(data) else 0
        value, after = data[at + 2 : at + 2 + size], at + 2 + size
    shown = value[2:] if value[:1] == b"{" else value  # CODE128's code set prefix
    page.line(f"[barcode: {shown.decode('ascii', errors='replace')}]")
    return after
