"""A card's UID in the forms readers send it, turned into the one form the shop's loyalty
accounts hold, so one card is one customer on every reader.

Part of the scan pipeline (``scans.py``): after separators and case are normalised, a value
from a reader whose ``uid_format`` is not the ``[scans] canonical_uid`` goes through
``UidForms.canonical``. A value that is not a UID in the reader's form (a printed card code,
a product barcode on the same scanner) passes unchanged. Pure: no I/O.

The forms, for the UID bytes ``04 A2 3B 1C`` (the order the card gives them, the order of
the PC/SC GET DATA answer):

- ``hex``: ``04A23B1C``;
- ``hex_reversed``: ``1C3BA204`` (readers that print the bytes least significant first);
- ``decimal``: the bytes as one big-endian number, zero-padded to the width of the largest
  number of that many bytes: ``0077740828`` (the "8H10D" form: 8 hex digits, 10 decimal);
- ``wiegand26`` / ``wiegand34``: the frame of an access-control reader, as its bits (26 or
  34 characters ``0``/``1``) or as hexadecimal (7 or 9 digits): a leading even parity bit
  over the first half of the payload, the payload (26: facility code 8 bits and card
  number 16 bits, i.e. the UID's last 3 bytes; 34: 32 bits, i.e. a 4-byte UID), a trailing
  odd parity bit over the second half. A frame whose parity does not hold was read badly:
  it is rejected (``WIEGAND_PARITY``), never turned into some other customer's number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from register_agent.config import CanonicalUid, UidFormat

#: the reason a Wiegand frame with a broken parity is rejected (scans.Reason's wording)
WIEGAND_PARITY = "Wiegand parity error (the card was read badly: present it again)"

_HEX = re.compile(r"[0-9A-F]+", re.IGNORECASE)
_BITS = re.compile(r"[01]+")
_WIEGAND_PAYLOAD_BITS = {"wiegand26": 24, "wiegand34": 32}


def decimal_width(size: int) -> int:
    """Digits of the largest number of ``size`` bytes: 10 for 4 bytes (the 8H10D form)."""
    return len(str(256**size - 1))


def to_bytes(value: str, form: UidFormat, sizes: Sequence[int]) -> bytes | str | None:
    """The UID bytes ``value`` holds in ``form``; None: it is no UID in that form; a
    string: the reason it was rejected (only a Wiegand frame's broken parity)."""
    if form in ("hex", "hex_reversed"):
        if not _HEX.fullmatch(value) or len(value) % 2 or len(value) // 2 not in sizes:
            return None
        uid = bytes.fromhex(value)
        return uid[::-1] if form == "hex_reversed" else uid
    if form == "decimal":
        size = next((n for n in sizes if decimal_width(n) == len(value)), None)
        if size is None or not value.isascii() or not value.isdigit():
            return None
        number = int(value)
        return number.to_bytes(size, "big") if number < 256**size else None
    return _wiegand(value, _WIEGAND_PAYLOAD_BITS[form])


def _wiegand(value: str, payload_bits: int) -> bytes | str | None:
    frame_bits = payload_bits + 2
    if len(value) == frame_bits and _BITS.fullmatch(value):
        frame = int(value, 2)
    elif len(value) == (frame_bits + 3) // 4 and _HEX.fullmatch(value):
        frame = int(value, 16)
        if frame >= 1 << frame_bits:
            return None
    else:
        return None
    bits = [(frame >> (frame_bits - 1 - index)) & 1 for index in range(frame_bits)]
    half = payload_bits // 2
    even_ok = sum(bits[: 1 + half]) % 2 == 0  # the leading bit makes the first half even
    odd_ok = sum(bits[1 + half :]) % 2 == 1  # the trailing bit makes the second half odd
    if not (even_ok and odd_ok):
        return WIEGAND_PARITY
    payload = (frame >> 1) & ((1 << payload_bits) - 1)
    return payload.to_bytes(payload_bits // 8, "big")


def from_bytes(uid: bytes, form: CanonicalUid) -> str:
    """``uid`` written in ``form``."""
    if form == "hex":
        return uid.hex().upper()
    if form == "hex_reversed":
        return uid[::-1].hex().upper()
    return str(int.from_bytes(uid, "big")).zfill(decimal_width(len(uid)))


def wiegand_frame(payload: bytes, *, as_bits: bool = False) -> str:
    """The Wiegand frame carrying ``payload`` (3 bytes: 26 bits, 4 bytes: 34 bits), with its
    parity bits: what an access-control reader sends, for tests and the docs' examples."""
    payload_bits = len(payload) * 8
    number = int.from_bytes(payload, "big")
    bits = [(number >> (payload_bits - 1 - index)) & 1 for index in range(payload_bits)]
    half = payload_bits // 2
    frame_bits = [sum(bits[:half]) % 2, *bits, 1 - sum(bits[half:]) % 2]
    text = "".join(str(bit) for bit in frame_bits)
    return text if as_bits else f"{int(text, 2):0{(len(text) + 3) // 4}X}"


class UidForms:
    """Per reader, its ``uid_format``; every UID leaves in the one ``canonical`` form."""

    def __init__(
        self, formats: dict[str, UidFormat], canonical: CanonicalUid, sizes: Sequence[int]
    ) -> None:
        # Readers already sending the canonical form are left out: their values pass
        # exactly as before (an existing till's default, hex to hex, changes nothing).
        self._formats = {name: form for name, form in formats.items() if form != canonical}
        self._canonical = canonical
        # Wiegand payloads are 3 and 4 bytes whatever the NFC sizes are.
        self._sizes = tuple(sorted(set(sizes)))

    def canonical(self, value: str, reader: str) -> tuple[str, str | None]:
        """``value`` in the canonical form (unchanged when it is no UID in the reader's
        form), and the reason it is rejected (None: it is not)."""
        form = self._formats.get(reader)
        if form is None:
            return value, None
        uid = to_bytes(value, form, self._sizes)
        if uid is None:
            return value, None
        if isinstance(uid, str):
            return value, uid
        return from_bytes(uid, self._canonical), None
