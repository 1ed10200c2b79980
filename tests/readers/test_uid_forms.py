"""UID forms: the same card in every form a reader may send is one canonical value, through
the scan pipeline as the agent runs it (one reader per form)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest

from register_agent.config import CanonicalUid, ScansConfig, UidFormat, VirtualReaderConfig
from register_agent.readers.reader import RawScan
from register_agent.readers.scans import Reason, Rejection, Scan, ScanPipeline
from register_agent.readers.uid_forms import wiegand_frame

AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

#: a card, in each form a reader sends it (hex: the order the card gives its bytes)
CARDS: dict[str, dict[str, list[str]]] = {
    # a 4-byte MIFARE UID: the 8H10D decimal, and its 32 bits in a Wiegand 34 frame
    "04A23B1C": {
        "hex": ["04A23B1C", "04:a2:3b:1c", "04-A2-3B-1C"],
        "hex_reversed": ["1C3BA204", "1c:3b:a2:04"],
        "decimal": ["0077740828"],
        "wiegand34": [
            wiegand_frame(bytes.fromhex("04A23B1C")),
            wiegand_frame(bytes.fromhex("04A23B1C"), as_bits=True),
        ],
    },
    # the 3 bytes a Wiegand 26 frame carries: facility code A2 (162), card number 3B1C
    "A23B1C": {
        "hex": ["A23B1C"],
        "hex_reversed": ["1C3BA2"],
        "decimal": ["10631964"],
        "wiegand26": ["3447639", "11010001000111011000111001"],
    },
    # a 7-byte UID (NTAG, MIFARE DESFire)
    "04D2C5F2A95E80": {
        "hex": ["04D2C5F2A95E80", "04 D2 C5 F2 A9 5E 80"],
        "hex_reversed": ["805EA9F2C5D204"],
        "decimal": ["01357647528418944"],
    },
}
CANONICAL = {
    # the canonical hex and the card in the other canonical forms
    "04A23B1C": {"hex": "04A23B1C", "hex_reversed": "1C3BA204", "decimal": "0077740828"},
    "A23B1C": {"hex": "A23B1C", "hex_reversed": "1C3BA2", "decimal": "10631964"},
    "04D2C5F2A95E80": {
        "hex": "04D2C5F2A95E80",
        "hex_reversed": "805EA9F2C5D204",
        "decimal": "01357647528418944",
    },
}
FORMS: tuple[str, ...] = get_args(UidFormat)


def pipeline(canonical: str) -> ScanPipeline:
    """One reader per form, as a till with five kinds of reader would have them."""
    readers = [VirtualReaderConfig(kind="virtual", name=form, uid_format=form) for form in FORMS]
    scans = ScansConfig(
        canonical_uid=canonical,
        nfc_uid_bytes=[3, 4, 7],
        debounce_s=0,
        min_length=4,
    )
    return ScanPipeline(scans, readers)


def test_the_wiegand_examples_are_the_frames_of_their_payload() -> None:
    # worked by hand: A2 3B 1C; the first 12 bits hold five ones (even parity bit 1), the
    # last 12 six (odd parity bit 1)
    bits = "1" + "101000100011" + "101100011100" + "1"
    assert wiegand_frame(bytes.fromhex("A23B1C"), as_bits=True) == bits
    assert wiegand_frame(bytes.fromhex("A23B1C")) == f"{int(bits, 2):07X}" == "3447639"


@pytest.mark.parametrize("canonical", get_args(CanonicalUid))
@pytest.mark.parametrize("card", sorted(CARDS))
def test_every_form_of_a_card_is_one_canonical_value(card: str, canonical: str) -> None:
    scans = pipeline(canonical)
    expected = CANONICAL[card][canonical]
    seen = []
    for form, values in CARDS[card].items():
        for value in values:
            outcome = scans.process(RawScan(value.encode(), form, AT))
            assert isinstance(outcome, Scan), (form, value, outcome)
            seen.append((form, value, outcome.value))
    assert {result for _, _, result in seen} == {expected}, seen


@pytest.mark.parametrize(("form", "frame"), [("wiegand26", "3447639"), ("wiegand34", None)])
def test_a_wiegand_frame_with_a_broken_parity_is_rejected_with_its_reason(
    form: str, frame: str | None
) -> None:
    bits = wiegand_frame(bytes.fromhex("04A23B1C"), as_bits=True) if frame is None else None
    good = bits if bits is not None else f"{int(frame or '0', 16):026b}"
    for flipped in (0, len(good) // 2, len(good) - 1):  # a parity bit, a payload bit, the other
        broken = good[:flipped] + ("1" if good[flipped] == "0" else "0") + good[flipped + 1 :]
        outcome = pipeline("hex").process(RawScan(broken.encode(), form, AT))
        assert isinstance(outcome, Rejection), broken
        assert outcome.reason == Reason.WIEGAND_PARITY
        assert "present it again" in str(outcome.reason)


@pytest.mark.parametrize(
    ("form", "value"),
    [
        ("decimal", "CARD-12345"),  # a printed card code on the same reader
        ("decimal", "4006381333931"),  # a product barcode: 13 digits is no UID width
        ("decimal", "9999999999"),  # ten digits above the largest 4-byte number
        ("hex_reversed", "CARD0001"),
        ("wiegand26", "ABCDEF12"),  # eight hex digits: no 26-bit frame
    ],
)
def test_a_value_that_is_no_uid_in_the_readers_form_passes_unchanged(form: str, value: str) -> None:
    outcome = pipeline("hex").process(RawScan(value.encode(), form, AT))
    assert isinstance(outcome, Scan)
    assert outcome.value == value


def test_an_existing_tills_default_changes_nothing() -> None:
    """No uid_format, no canonical_uid: hex UIDs as before, decimals stay decimals."""
    reader = VirtualReaderConfig(kind="virtual", name="counter")
    scans = ScanPipeline(ScansConfig(debounce_s=0), [reader])
    for value, expected in [
        ("04:a2:3b:1c", "04A23B1C"),
        ("0077740828", "0077740828"),
        ("1C3BA204", "1C3BA204"),
    ]:
        outcome = scans.process(RawScan(value.encode(), "counter", AT))
        assert isinstance(outcome, Scan)
        assert outcome.value == expected
