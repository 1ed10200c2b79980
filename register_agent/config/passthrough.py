"""The ``[passthrough]`` section: the agent between the till and its receipt printer.

The relay (``register_agent/passthrough/``) listens where ``listen`` or ``serial_device``
says; the reader decodes text with ``code_pages`` and cuts with ``cut_dialect``; the
``[passthrough.template]`` subsection tells it where this till prints the total.
"""

# ruff: noqa: RUF012 (mutable defaults of pydantic fields: pydantic copies them)

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from register_agent.config.sections import Section

#: how the printer cuts: ``epson`` (``GS V`` in every variant, ``ESC i``, ``ESC m``), or
#: ``star-line`` (a Star printer in Star Line Mode, where ``ESC d 0..3`` cuts)
CutDialect = Literal["epson", "star-line"]

#: an amount as tills print it: 12.50, 12,50, 1.234,50, 1,234.50, 1 234,50, -3,00
AMOUNT = r"-?\d{1,3}(?:[.,' ]?\d{3})*(?:[.,]\d{1,2})?"

#: the words a till prints before the amount to pay (Dutch, English, German, French, Italian)
TOTAL_WORDS = (
    "te betalen",
    "totaal",
    "total",
    "totale",
    "summe",
    "sum",
    "gesamt",
    "zu zahlen",
    "amount due",
    "à payer",
)


def total_pattern(word: str) -> str:
    """A total pattern: ``word`` first on its line (after any stars or dashes), then the
    amount, with a currency before or after it; "Subtotal" is not the word "total"."""
    return rf"^\W*{re.escape(word)}\b\D*?(?P<total>{AMOUNT})\s*\D{{0,4}}$"


def _compiled(pattern: str, group: str | None) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
    if group and group not in compiled.groupindex:
        raise ValueError(f"{pattern!r} has no named group (?P<{group}>...); add one")
    if compiled.search("") is not None:
        # e.g. "KOPIE|" or ".*": as a skip or copy marker it would take every receipt
        raise ValueError(f"{pattern!r} matches an empty line, so every line; make it stricter")
    return pattern


class ReceiptTemplate(Section):
    """``[passthrough.template]``: where this till prints the sale on its receipt.

    Every pattern is a regular expression matched against one printed line at a time,
    ignoring case (``register-agent passthrough-learn`` proposes them, ``passthrough-test``
    tries them on a recorded job).
    """

    #: the amount to pay, in a named group ``total``; the first pattern that matches a
    #: line of the customer's receipt wins, and in it the first line
    total: list[str] = Field(default=[total_pattern(word) for word in TOTAL_WORDS], min_length=1)
    #: the till's receipt number, in a named group ``receipt_no`` (optional: without it a
    #: digest of the job stands in for it)
    receipt_no: list[str] = []
    #: a receipt with a line matching one of these is not the customer's (the merchant's
    #: copy, a card terminal's slip, a kitchen ticket)
    skip: list[str] = []
    #: a receipt with a line matching one of these is a reprint or a copy: never credited
    copy_markers: list[str] = [
        r"\b(copy|kopie|duplica(?:at|te)|reprint|herdruk|duplikat|nachdruck)\b"
    ]
    #: which receipt is the customer's when the job holds several that are not skipped
    pick: Literal["first", "last"] = "first"

    @field_validator("total")
    @classmethod
    def _totals(cls, patterns: list[str]) -> list[str]:
        return [_compiled(pattern, "total") for pattern in patterns]

    @field_validator("receipt_no")
    @classmethod
    def _numbers(cls, patterns: list[str]) -> list[str]:
        return [_compiled(pattern, "receipt_no") for pattern in patterns]

    @field_validator("skip", "copy_markers")
    @classmethod
    def _plain(cls, patterns: list[str]) -> list[str]:
        return [_compiled(pattern, None) for pattern in patterns]


class PassthroughConfig(Section):
    """``[passthrough]``: the till prints to the agent, which relays to ``[printer]``."""

    enabled: bool = False
    #: where the till's print jobs come in over raw TCP: ``address:port`` (IPv6 in
    #: brackets, ``[::1]:9100``); the port may be left out (9100)
    listen: str = "127.0.0.1:9100"
    #: a serial line the till prints to instead (a USB-serial adapter), e.g. /dev/ttyUSB0
    serial_device: Path | None = None
    serial_baudrate: int = Field(default=38400, gt=0)
    #: on a serial line a job ends at ``ESC @``, a cut, or this long without a byte
    serial_idle_gap_s: float = Field(default=0.5, gt=0, le=10)
    #: a card scanned this long before the receipt prints belongs to its sale
    customer_window_s: float = Field(default=120.0, gt=0, le=3600)
    #: this printer model's ``ESC t`` numbers, where they differ from Epson's: table
    #: number -> Python codec name, e.g. {16 = "cp1252"}; table 0 is the one a job starts
    #: in, so a printer whose switches select another table at power-on maps 0 to it
    code_pages: dict[int, str] = {}
    #: the codec of the printer's two-byte character mode (``FS &``), for a till that prints
    #: Chinese or Japanese: e.g. "gb18030", "big5", "shift_jis"; None: read as single bytes
    multibyte_code_page: str | None = None
    cut_dialect: CutDialect = "epson"
    template: ReceiptTemplate = ReceiptTemplate()

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str) -> str:
        _split_listen(value)
        return value

    @field_validator("code_pages")
    @classmethod
    def _codecs(cls, tables: dict[int, str]) -> dict[int, str]:
        for number, name in tables.items():
            if not 0 <= number <= 255:
                raise ValueError(f"table {number}: ESC t numbers run from 0 to 255")
            _known_codec(name, f"table {number}: ")
        return tables

    @field_validator("multibyte_code_page")
    @classmethod
    def _multibyte(cls, name: str | None) -> str | None:
        return None if name is None else _known_codec(name, "")

    @property
    def listen_host(self) -> str:
        return _split_listen(self.listen)[0]

    @property
    def listen_port(self) -> int:
        return _split_listen(self.listen)[1]


def _known_codec(name: str, where: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(
            f"{where}{name!r} is no code page Python knows; "
            "use a codec name such as 'cp858', 'cp1252', 'iso8859_15' or 'gb18030'"
        ) from None
    return name


def _split_listen(value: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or a bare host (port 9100)."""
    host, port = value, "9100"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError("write an IPv6 address as [::1]:9100")
            port = rest[1:]
    elif value.count(":") == 1:
        host, port = value.split(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("must be address:port, e.g. 127.0.0.1:9100 or 0.0.0.0:9100")
    return host, int(port)
