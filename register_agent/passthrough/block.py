"""The loyalty block's bytes, made to sit inside another program's receipt just before its
cut: the sale's ``LoyaltyBlock`` laid out by ``receipts/layout.py`` (the slip's own words and
layout) and rendered by the printer's driver without its reset (``ESC @`` would throw away
what the till left in the printer's buffer), between two sets of mode commands: the
defaults the block is laid out for before it, and after it the till's own modes as its job
last set them, so whatever the till prints after the cut looks as it would without us.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from register_agent.config import ReceiptConfig
from register_agent.counter.messages import LoyaltyBlock
from register_agent.passthrough.escpos_reader import Command
from register_agent.receipts.layout import (
    Cut,
    Language,
    QrCode,
    Receipt,
    ReceiptLayout,
    layout_receipt,
)

Render = Callable[[ReceiptLayout], bytes]

#: the modes the block is laid out in: font A, no emphasis, normal size, no underline, not
#: reversed, upright, left aligned, code page 0 (the driver selects its own page for its text),
#: the U.S.A. international set
DEFAULT_MODES = (
    b"\x1b!\x00"  # ESC ! 0
    b"\x1d!\x00"  # GS ! 0
    b"\x1bE\x00"  # ESC E 0
    b"\x1bG\x00"  # ESC G 0
    b"\x1b-\x00"  # ESC - 0
    b"\x1dB\x00"  # GS B 0
    b"\x1b{\x00"  # ESC { 0
    b"\x1bV\x00"  # ESC V 0
    b"\x1ba\x00"  # ESC a 0
    b"\x1bt\x00"  # ESC t 0
    b"\x1bR\x00"  # ESC R 0: the U.S.A. set, so the block's # or $ print as such
)
#: the commands that set a mode the block changes; the till's last one of each is sent again
_MODE_PREFIXES = frozenset(
    (b"\x1b!", b"\x1d!", b"\x1bE", b"\x1bG", b"\x1b-", b"\x1dB", b"\x1b{", b"\x1bV")
) | frozenset((b"\x1ba", b"\x1bt", b"\x1bM", b"\x1bR"))
_RESET = b"\x1b@"

#: the v1 till without a card when the Register API is down: nothing to collect with
CANNOT_COLLECT: dict[Language, str] = {
    "en": "Loyalty points cannot be collected for this receipt.",
    "nl": "Voor deze bon kunnen geen spaarpunten worden gespaard.",
}


def block_layout(block: LoyaltyBlock, settings: ReceiptConfig, width: int) -> ReceiptLayout:
    """The block as slip elements: the loyalty part of a sale's slip, without header,
    footer and cut (the till's receipt has its own)."""
    receipt = Receipt(
        customer_lines=block.customer_lines,
        credits_earned=block.credits if block.state == "credited" else None,
        new_balance=block.balance if block.state == "credited" else None,
        points_pending=block.state == "pending",
        qr_url=block.qr_url if block.state == "qr" else None,
        notes=block.lines if block.state == "none" else (),
    )
    bare = settings.model_copy(update={"header": (), "footer": ()})
    laid = layout_receipt(receipt, bare, width)
    return ReceiptLayout(laid.width, tuple(e for e in laid.elements if not isinstance(e, Cut)))


def block_bytes(
    layout: ReceiptLayout, render: Render, before: bytes, commands: Sequence[Command]
) -> bytes:
    """The rendered block framed for its place: ``before`` is the job up to the cut,
    ``commands`` its commands (offsets into ``before``)."""
    if not layout.elements:
        return b""
    # the till's last line may not be ended yet: the block starts on a line of its own
    start = b"" if not before or before.endswith(b"\n") else b"\n"
    return start + DEFAULT_MODES + render(layout) + DEFAULT_MODES + till_modes(before, commands)


def till_modes(data: bytes, commands: Sequence[Command]) -> bytes:
    """The till's last command of each mode the block changes, in the till's order (none
    before its last ``ESC @``, which reset them)."""
    last: dict[bytes, Command] = {}
    for command in commands:
        head = data[command.offset : command.offset + 2]
        if head == _RESET:
            last.clear()
        elif head in _MODE_PREFIXES:
            last[head] = command
    ordered = sorted(last.values(), key=lambda command: command.offset)
    return b"".join(data[c.offset : c.offset + c.length] for c in ordered)


class ShapedRender:
    """The driver's render, done once per shape of block: every no-card receipt's block is
    the same words around a QR whose URL differs only in its values, not its length (the
    register, a sale id of one form, the total, the time), and python-escpos takes half a
    millisecond to lay out what is then the same bytes but for the URL inside the native
    QR's ``GS ( k`` store command. So the block is rendered with a stand-in URL of the same
    length once, and the real URL is put in its place. A render where the stand-in is not
    there once (a printer without native QR draws it as an image) is done each time."""

    #: shapes kept at most (a few: one per URL length and card state in practice)
    LIMIT = 64

    def __init__(self, render: Render) -> None:
        self._render = render
        self._shapes: dict[ReceiptLayout, bytes | None] = {}

    def __call__(self, layout: ReceiptLayout) -> bytes:
        codes = [element for element in layout.elements if isinstance(element, QrCode)]
        if len(codes) != 1 or not codes[0].data.isascii():
            return self._render(layout)
        code = codes[0]
        stand_in = ("\x7fqr-url" * (len(code.data) // 7 + 1))[: len(code.data)]
        shape = dataclasses.replace(
            layout,
            elements=tuple(
                dataclasses.replace(e, data=stand_in) if e is code else e for e in layout.elements
            ),
        )
        if shape not in self._shapes:
            rendered = self._render(shape)
            if len(self._shapes) >= self.LIMIT:
                self._shapes.clear()
            self._shapes[shape] = rendered if rendered.count(stand_in.encode()) == 1 else None
        template = self._shapes[shape]
        if template is None:
            return self._render(layout)
        return template.replace(stand_in.encode(), code.data.encode())
