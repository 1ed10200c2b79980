"""The receipt as data: what a sale's slip says, laid out to the paper width, with no bytes.

``layout_receipt`` turns a ``Receipt`` into a ``ReceiptLayout``: a list of typed elements
(text lines, rules, a QR code, a barcode, the cut) that both the ESC/POS driver and the PNG
preview render. Fixed texts come from the one table ``TEXTS``; untrusted strings (POS lines,
the shop's name, customer attributes) lose their control characters here, before any printer
or image sees them.
"""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from register_agent.config import ReceiptConfig

Language = Literal["en", "nl"]
Align = Literal["left", "center", "right"]

#: every fixed text of a receipt, in every language the agent speaks
TEXTS: dict[str, dict[Language, str]] = {
    "total": {"en": "Total", "nl": "Totaal"},
    "credits_earned": {"en": "Points earned", "nl": "Gespaarde punten"},
    "new_balance": {"en": "Your balance", "nl": "Uw saldo"},
    "reward_claimed": {"en": "Reward", "nl": "Beloning"},
    "points_later": {
        "en": "Your points will be added shortly.",
        "nl": "Uw punten worden zo snel mogelijk bijgeschreven.",
    },
    "scan_to_collect": {"en": "Scan to collect your points", "nl": "Scan en spaar uw punten"},
    "no_qr": {
        "en": "No QR code: the loyalty service could not be reached. Ask at the till later"
        " to collect your points.",
        "nl": "Geen QR-code: de spaardienst was niet bereikbaar. Vraag later aan de kassa"
        " om uw punten te sparen.",
    },
    "copy": {"en": "*** COPY ***", "nl": "*** KOPIE ***"},
    "copied_at": {"en": "Copy", "nl": "Kopie"},
    "sale": {"en": "Sale", "nl": "Bon"},
    "test_title": {"en": "Printer test", "nl": "Printertest"},
    # the welcome slip of a card handed out at the counter (welcome.py)
    "welcome": {"en": "Welcome to", "nl": "Welkom bij"},
    "your_card": {"en": "Your card", "nl": "Uw kaart"},
    "welcome_earn": {
        "en": "Show your card at the till to collect points.",
        "nl": "Laat uw kaart zien aan de kassa en spaar punten.",
    },
}

_CURRENCY_SIGNS = {"EUR": "€", "GBP": "£", "USD": "$"}
_CENT = Decimal("0.01")


def text(key: str, language: Language) -> str:
    """A fixed text of the receipt in ``language``."""
    return TEXTS[key][language]


def format_money(amount: Decimal, language: Language, currency: str = "EUR") -> str:
    """``€ 1.234,50`` in Dutch, ``€1,234.50`` in English; other currencies by code."""
    rounded = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    digits = f"{abs(rounded):,.2f}"  # 1,234.50
    if language == "nl":
        digits = digits.translate(str.maketrans(",.", ".,"))
    sign = _CURRENCY_SIGNS.get(currency)
    # Dutch puts a space after the sign (€ 12,50); English writes it tight (€12.50).
    prefix = (sign + (" " if language == "nl" else "")) if sign else currency + " "
    return ("-" if rounded < 0 else "") + prefix + digits


def clean(value: str) -> str:
    """``value`` without control or format characters: safe to print, one line.

    Tabs and line breaks become spaces; everything else of category C (ESC, DLE, GS, NUL,
    bidi overrides, unassigned code points) is dropped, so a POS line or a shop name can
    never switch the printer into another mode or reorder what the customer reads.
    """
    kept = []
    for char in value:
        if char in "\t\r\n":
            kept.append(" ")
        elif not unicodedata.category(char).startswith("C"):
            kept.append(char)
    return "".join(kept).strip()


@dataclass(frozen=True)
class SaleLine:
    """One line the POS sent along with the sale (an article and its amount)."""

    text: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class Receipt:
    """What one slip reports; every part but the header and footer is optional."""

    sale_id: str = ""
    lines: tuple[SaleLine, ...] = ()
    total: Decimal | None = None
    credits_earned: int | None = None
    new_balance: int | None = None
    reward_claimed: str | None = None
    #: the customer's attributes the shop prints ("Name: Jan"), already labelled
    customer_lines: tuple[str, ...] = ()
    #: the credits were not confirmed in time: say they will follow
    points_pending: bool = False
    #: the URL a customer without a card scans to collect the credits
    qr_url: str | None = None
    #: no QR could be made in time (v1 offline): say so instead of printing one
    qr_unavailable: bool = False
    barcode: str | None = None
    #: a reprint: every print after the first says so
    copy: bool = False
    #: when the sale was made and when the copy was asked for, in the till's time zone
    sold_at: datetime | None = None
    copied_at: datetime | None = None
    #: extra free text (the test receipt), printed as is after cleaning
    notes: tuple[str, ...] = ()


# --- the elements both renderers consume ---------------------------------------------------


@dataclass(frozen=True)
class TextLine:
    """One printed line; ``large`` is double width and height (half the columns)."""

    text: str
    align: Align = "left"
    bold: bool = False
    large: bool = False
    #: the printer's small font: the sale's id and time, which no customer reads first
    small: bool = False


@dataclass(frozen=True)
class Rule:
    """A horizontal line across the paper."""


@dataclass(frozen=True)
class QrCode:
    """A QR code carrying ``data``, with a caption printed under it."""

    data: str
    caption: str = ""


@dataclass(frozen=True)
class Barcode:
    """A one-dimensional barcode (CODE128 of printable ASCII)."""

    data: str


@dataclass(frozen=True)
class Cut:
    """Feed past the cutter and cut the paper."""


@dataclass(frozen=True)
class Logo:
    """The shop's picture (``[receipt] logo``), as the renderer's cached raster of ``path``."""

    path: str


Element = TextLine | Rule | QrCode | Barcode | Cut | Logo


@dataclass(frozen=True)
class ReceiptLayout:
    """A receipt laid out for paper ``width`` characters wide; what a printer prints."""

    width: int
    elements: tuple[Element, ...] = field(default_factory=tuple)

    def plain_text(self) -> str:
        """The text lines alone, for logs, tests and a POS that prints its own slip."""
        return "\n".join(e.text for e in self.elements if isinstance(e, TextLine))


def layout_receipt(receipt: Receipt, settings: ReceiptConfig, width: int) -> ReceiptLayout:
    """Lay ``receipt`` out for paper ``width`` characters wide in ``settings.language``."""
    lang = settings.language
    elements: list[Element] = [Logo(str(settings.logo))] if settings.logo else []
    elements += _header(settings, width)
    if receipt.copy:
        elements.append(TextLine(text("copy", lang), align="center", bold=True))
        if receipt.copied_at is not None:
            elements += _columns(
                text("copied_at", lang), _when(receipt.copied_at), width, small=True
            )
    # the sale's time beside its id in small print (the time alone on a slip of no sale)
    sale = f"{text('sale', lang)} {clean(receipt.sale_id)}" if receipt.sale_id else ""
    if receipt.sold_at is not None or sale:
        when = _when(receipt.sold_at) if receipt.sold_at is not None else ""
        elements += _columns(sale, when, width, small=True)
    elements += _sale(receipt, settings, width)
    elements += _loyalty(receipt, lang, width)
    for note in receipt.notes:
        elements += _wrapped(clean(note), width)
    if receipt.barcode and clean(receipt.barcode).isascii():
        elements.append(Barcode(clean(receipt.barcode)))
    elements += _footer(settings, width)
    elements.append(Cut())
    return ReceiptLayout(width=width, elements=tuple(elements))


def _when(moment: datetime) -> str:
    """Decision: ISO date and 24-hour time (``2026-12-04 14:03``), in every language: it
    reads the same in Dutch and English, sorts, and fits beside the sale id on 58 mm."""
    return moment.strftime("%Y-%m-%d %H:%M")


def _header(settings: ReceiptConfig, width: int) -> list[Element]:
    lines = [clean(line) for line in settings.header if clean(line)]
    if not lines:
        return []
    # The shop's name is printed large: half the columns fit.
    out: list[Element] = [
        TextLine(part, align="center", bold=True, large=True)
        for part in _wrap(lines[0], width // 2)
    ]
    for line in lines[1:]:
        out += _wrapped(line, width, align="center")
    out.append(Rule())
    return out


def _sale(receipt: Receipt, settings: ReceiptConfig, width: int) -> list[Element]:
    lang, currency = settings.language, settings.currency
    out: list[Element] = []
    for line in receipt.lines:
        amount = format_money(line.amount, lang, currency) if line.amount is not None else ""
        out += _columns(clean(line.text), amount, width)
    if receipt.total is not None:
        if out:
            out.append(Rule())
        total = format_money(receipt.total, lang, currency)
        out += _columns(text("total", lang), total, width, bold=True)
    return out


def _loyalty(receipt: Receipt, lang: Language, width: int) -> list[Element]:
    out: list[Element] = []
    for line in receipt.customer_lines:
        out += _wrapped(clean(line), width)
    if receipt.credits_earned is not None:
        out += _columns(text("credits_earned", lang), str(receipt.credits_earned), width)
    if receipt.new_balance is not None:
        out += _columns(text("new_balance", lang), str(receipt.new_balance), width)
    if receipt.reward_claimed:
        out += _wrapped(f"{text('reward_claimed', lang)}: {clean(receipt.reward_claimed)}", width)
    if receipt.points_pending:
        out += _wrapped(text("points_later", lang), width, align="center")
    if receipt.qr_url:
        out.append(QrCode(clean(receipt.qr_url), text("scan_to_collect", lang)))
    elif receipt.qr_unavailable:
        out += _wrapped(text("no_qr", lang), width, align="center")
    if out:
        out.insert(0, Rule())
    return out


def _footer(settings: ReceiptConfig, width: int) -> list[Element]:
    out: list[Element] = []
    for line in settings.footer:
        out += _wrapped(clean(line), width, align="center")
    return out


def _wrap(value: str, width: int) -> list[str]:
    return textwrap.wrap(value, width, break_long_words=True) or [""]


def _wrapped(value: str, width: int, *, align: Align = "left") -> list[Element]:
    return [TextLine(part, align=align) for part in _wrap(value, width)]


def _columns(
    left: str, right: str, width: int, *, bold: bool = False, small: bool = False
) -> list[Element]:
    """``left`` and ``right`` on one line; a long ``left`` wraps above the amount."""
    room = width - len(right) - 1
    parts = _wrap(left, max(room, 1)) if right else _wrap(left, width)
    last = parts.pop()
    lines: list[Element] = [TextLine(part, bold=bold, small=small) for part in parts]
    fill = " " * (width - len(last) - len(right))
    lines.append(TextLine(last + fill + right, bold=bold, small=small))
    return lines
