"""The scan pipeline: a reader's raw bytes become a trusted ``Scan``, a rejection or a repeat.

Step 2 of a sale (docs/architecture.md): strip prefix/suffix, whitelist (length and
character set; control bytes never pass), normalise NFC UIDs and turn each reader's UID
form into the canonical one (``uid_forms.py``), tell loyalty cards from plain barcodes, and
debounce. Pure and fast: no I/O, and the clock is injected.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from register_agent.common.masking import mask, safe_tail
from register_agent.config import ReaderConfig, ScansConfig
from register_agent.readers.reader import MAX_RAW_SCAN_BYTES, RawScan
from register_agent.readers.uid_forms import WIEGAND_PARITY, UidForms

Kind = Literal["loyalty", "plain"]

# Cc: C0, DEL, C1; Cf: invisible format characters (bidi overrides, zero width); Zl/Zp:
# line breaks by another name. None of these belongs in an identifier or in a log line.
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# ESC starts ANSI sequences; U+009B is the 8-bit CSI that some terminals also obey.
_ESCAPES = ("\x1b", "\x9b")
_UID_SEPARATORS = re.compile(r"[:\- ]")


class Reason(StrEnum):
    """Why a scan was rejected: neutral words, safe for logs and the POS screen."""

    TOO_LONG = "too long"
    TOO_SHORT = "too short"
    INVALID_UTF8 = "not valid UTF-8"
    ESCAPE_SEQUENCE = "contains an escape sequence"
    CONTROL_CHARACTERS = "contains control characters"
    NOT_ALLOWED = "contains characters outside the whitelist"
    WIEGAND_PARITY = WIEGAND_PARITY


def escape_raw(data: bytes, limit: int = 48) -> str:
    """Raw bytes for a terminal: printable ASCII as is, the rest as ``\\xNN``, cut at ``limit``."""
    shown = "".join(
        chr(byte) if 0x20 <= byte < 0x7F and byte != 0x5C else f"\\x{byte:02x}"
        for byte in data[:limit]
    )
    return shown if len(data) <= limit else f"{shown}… (+{len(data) - limit} bytes)"


@dataclass(frozen=True, slots=True)
class Scan:
    """A value that passed the whitelist: a loyalty card (``kind="loyalty"``) or a plain scan."""

    value: str = field(repr=False)
    reader: str
    at: datetime
    kind: Kind

    def __repr__(self) -> str:
        return f"Scan(value={mask(self.value)!r}, reader={self.reader!r}, kind={self.kind!r})"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A frame that is not an identifier; ``tail`` is the most of it a log may show."""

    reason: Reason
    reader: str
    at: datetime
    tail: str


@dataclass(frozen=True, slots=True)
class Repeat:
    """A valid value seen again within the debounce window: the same scan, not a new one."""

    value: str = field(repr=False)
    reader: str
    at: datetime


Outcome = Scan | Rejection | Repeat


@dataclass(frozen=True, slots=True)
class ScanRules:
    """``[scans]`` and the readers' affixes, compiled once."""

    min_length: int
    max_length: int
    allowed: re.Pattern[str]
    uid: re.Pattern[str] | None
    loyalty: tuple[re.Pattern[str], ...]
    gtin_lengths: frozenset[int]
    affixes: dict[str, tuple[str, str]]
    default_affixes: tuple[str, str]
    uid_forms: UidForms

    @classmethod
    def from_config(cls, scans: ScansConfig, readers: Sequence[ReaderConfig] = ()) -> ScanRules:
        default = (scans.prefix, scans.suffix)
        return cls(
            min_length=scans.min_length,
            max_length=scans.max_length,
            allowed=re.compile(f"[{scans.allowed_characters}]+"),
            uid=_uid_pattern(scans.nfc_uid_bytes) if scans.normalise_nfc_uids else None,
            loyalty=tuple(re.compile(pattern) for pattern in scans.loyalty_patterns),
            gtin_lengths=frozenset(scans.plain_gtin_lengths),
            affixes={
                reader.name: (
                    default[0] if reader.prefix is None else reader.prefix,
                    default[1] if reader.suffix is None else reader.suffix,
                )
                for reader in readers
            },
            default_affixes=default,
            uid_forms=UidForms(
                {reader.name: reader.uid_format for reader in readers},
                scans.canonical_uid,
                scans.nfc_uid_bytes,
            ),
        )


def _uid_pattern(sizes: Sequence[int]) -> re.Pattern[str] | None:
    """Hex UIDs of the given byte counts: bare, or one separator between every two bytes.

    Only that strict shape: a card code such as ``1234-5678`` keeps its dash.
    """
    shapes = [
        f"[0-9A-Fa-f]{{2}}(?:{re.escape(separator)}[0-9A-Fa-f]{{2}}){{{n - 1}}}"
        for n in sizes
        for separator in ("", ":", "-", " ")
    ]
    return re.compile("|".join(shapes)) if shapes else None


def parse(data: bytes, rules: ScanRules, reader: str = "") -> str | Reason:
    """The identifier in one raw frame, or why there is none. Never raises."""
    text = _decode(data, rules.affixes.get(reader, rules.default_affixes))
    if isinstance(text, Reason):
        return text
    value, broken = rules.uid_forms.canonical(normalise(text.strip(" "), rules), reader)
    return Reason(broken) if broken is not None else _whitelisted(value, rules)


def _decode(data: bytes, affixes: tuple[str, str]) -> str | Reason:
    if len(data) > MAX_RAW_SCAN_BYTES:
        return Reason.TOO_LONG
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Reason.INVALID_UTF8
    # Affixes first: scanners often frame with STX/ETX, which are control characters.
    text = _strip_affixes(text, *affixes)
    if any(escape in text for escape in _ESCAPES):
        return Reason.ESCAPE_SEQUENCE
    if any(unicodedata.category(char) in _CONTROL_CATEGORIES for char in text):
        return Reason.CONTROL_CHARACTERS
    return text


def _whitelisted(text: str, rules: ScanRules) -> str | Reason:
    if len(text) > rules.max_length:
        return Reason.TOO_LONG
    if len(text) < rules.min_length:
        return Reason.TOO_SHORT
    if not rules.allowed.fullmatch(text):
        return Reason.NOT_ALLOWED
    return text


def _strip_affixes(text: str, prefix: str, suffix: str) -> str:
    # Stripped only when present: some scanners add a prefix for some symbologies only.
    text = text.removeprefix(prefix) if prefix else text
    return text.removesuffix(suffix) if suffix else text


def normalise(text: str, rules: ScanRules) -> str:
    """One spelling per NFC UID: ``04:a2:3b:1c`` and ``04A23B1C`` are the same card."""
    if rules.uid is not None and rules.uid.fullmatch(text):
        return _UID_SEPARATORS.sub("", text).upper()
    return text


def is_gtin(value: str) -> bool:
    """A product barcode number (EAN-8/13, UPC-A, GTIN-14) with a valid GS1 check digit."""
    if not value.isascii() or not value.isdigit() or len(value) < 8:
        return False
    digits = [int(char) for char in value]
    body = reversed(digits[:-1])
    total = sum(digit * (3 if index % 2 == 0 else 1) for index, digit in enumerate(body))
    return (10 - total % 10) % 10 == digits[-1]


def classify(value: str, rules: ScanRules) -> Kind:
    """Loyalty card or plain scan (a product barcode on a scanner shared with the POS)."""
    if len(value) in rules.gtin_lengths and is_gtin(value):
        return "plain"
    if any(pattern.fullmatch(value) for pattern in rules.loyalty):
        return "loyalty"
    return "plain"


class Debouncer:
    """The same value within ``window_s`` of its last sighting, from any reader, is a repeat.

    The window slides with each sighting, so a card held on an NFC reader that reports
    it every half second stays one scan. The clock is monotonic: a till without a
    real-time clock may jump its wall time at boot.
    """

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window_s
        self._clock = clock
        self._seen: dict[str, float] = {}  # insertion order == order of last sighting

    def is_repeat(self, value: str) -> bool:
        now = self._clock()
        self._forget_before(now - self._window)
        last = self._seen.pop(value, None)
        self._seen[value] = now
        return last is not None and now - last < self._window

    def _forget_before(self, horizon: float) -> None:
        for value, seen in list(self._seen.items()):
            if seen > horizon:
                break
            del self._seen[value]


class ScanPipeline:
    """Raw scans in, outcomes out, with counts per outcome for status and metrics."""

    def __init__(
        self,
        scans: ScansConfig,
        readers: Sequence[ReaderConfig] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rules = ScanRules.from_config(scans, readers)
        self._debouncer = Debouncer(scans.debounce_s, clock)
        self._debounce_plain = scans.debounce_plain_scans
        self.accepted = 0
        self.repeats = 0
        self.rejected: Counter[Reason] = Counter()

    def process(self, raw: RawScan) -> Outcome:
        parsed = parse(raw.data, self.rules, raw.reader)
        if isinstance(parsed, Reason):
            self.rejected[parsed] += 1
            tail = safe_tail(raw.data[-16:].decode("utf-8", "replace"))
            return Rejection(parsed, raw.reader, raw.at, tail)
        kind = classify(parsed, self.rules)
        # Two identical products scanned in quick succession are two products: only cards
        # (which NFC readers report again and again while held) are debounced by default.
        if (kind == "loyalty" or self._debounce_plain) and self._debouncer.is_repeat(parsed):
            self.repeats += 1
            return Repeat(parsed, raw.reader, raw.at)
        self.accepted += 1
        return Scan(parsed, raw.reader, raw.at, kind)
