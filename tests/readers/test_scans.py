"""The scan pipeline on its own: whitelist, normalisation, classification, debounce."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest

from register_agent.common.masking import mask, safe_tail
from register_agent.config import ScansConfig, SerialReaderConfig
from register_agent.readers.reader import RawScan
from register_agent.readers.scans import (
    Debouncer,
    Reason,
    Rejection,
    Repeat,
    Scan,
    ScanPipeline,
    ScanRules,
    classify,
    escape_raw,
    is_gtin,
    parse,
)

RULES = ScanRules.from_config(ScansConfig())
AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def raw(data: bytes, reader: str = "front") -> RawScan:
    return RawScan(data, reader, AT)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"CARD-1234_x", "CARD-1234_x"),
        (b"  CARD1234  ", "CARD1234"),  # padding some scanners add
        (b"4006381333931", "4006381333931"),
        (b"", Reason.TOO_SHORT),
        (b"ABC", Reason.TOO_SHORT),
        (b"A" * 65, Reason.TOO_LONG),
        (b"A" * 5000, Reason.TOO_LONG),
        (b"\xc3\x28ABCD", Reason.INVALID_UTF8),
        (b"ABCD\x00", Reason.CONTROL_CHARACTERS),
        (b"ABCD\x7f", Reason.CONTROL_CHARACTERS),  # DEL
        ("ABCD\u0085".encode(), Reason.CONTROL_CHARACTERS),  # C1 next line
        ("ABCD\u200b".encode(), Reason.CONTROL_CHARACTERS),  # zero-width space
        (b"ABCD\tEFGH", Reason.CONTROL_CHARACTERS),
        (b"\x1b[2JABCD", Reason.ESCAPE_SEQUENCE),
        ("\u009b31mABCD".encode(), Reason.ESCAPE_SEQUENCE),  # 8-bit CSI
        (b"AB CD EF GH IJ", Reason.NOT_ALLOWED),
        ("CAFÉ1234".encode(), Reason.NOT_ALLOWED),
        (b"<script>1", Reason.NOT_ALLOWED),
    ],
)
def test_parse_accepts_identifiers_and_names_what_is_wrong(
    data: bytes, expected: str | Reason
) -> None:
    assert parse(data, RULES) == expected


@pytest.mark.parametrize(
    "spelling",
    ["04:a2:3b:1c:5d:6e:80", "04-A2-3B-1C-5D-6E-80", "04 a2 3b 1c 5d 6e 80", "04a23b1c5d6e80"],
)
def test_one_nfc_card_read_any_way_is_one_value(spelling: str) -> None:
    assert parse(spelling.encode(), RULES) == "04A23B1C5D6E80"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1234-5678", "1234-5678"),
        ("abcd-ef01", "abcd-ef01"),
        ("04:a2-3b:1c", Reason.NOT_ALLOWED),  # mixed separators: no UID, and ":" not allowed
        ("04a2 3b1c", Reason.NOT_ALLOWED),
    ],
)
def test_only_the_strict_uid_shape_is_rewritten(code: str, expected: str | Reason) -> None:
    assert parse(code.encode(), RULES) == expected


def test_uid_normalisation_can_be_switched_off() -> None:
    rules = ScanRules.from_config(ScansConfig(normalise_nfc_uids=False))
    assert parse(b"04a23b1c", rules) == "04a23b1c"
    assert parse(b"04:a2:3b:1c", rules) == Reason.NOT_ALLOWED


def test_product_barcodes_are_plain_and_cards_are_loyalty() -> None:
    assert is_gtin("4006381333931")
    assert not is_gtin("4006381333932")
    assert is_gtin("036000291452")  # UPC-A
    assert classify("4006381333931", RULES) == "plain"
    assert classify("036000291452", RULES) == "plain"
    assert classify("04A23B1C", RULES) == "loyalty"
    assert classify("piggy-card-7f3a", RULES) == "loyalty"
    assert classify("ABCD", RULES) == "plain"  # valid, but too short for a card


def test_what_looks_like_a_card_is_config() -> None:
    rules = ScanRules.from_config(
        ScansConfig(loyalty_patterns=["PIGGY-[0-9]{6}"], plain_gtin_lengths=[8, 13])
    )
    assert classify("PIGGY-123456", rules) == "loyalty"
    assert classify("HELLO1234", rules) == "plain"
    assert classify("96385074", rules) == "plain"  # EAN-8 with a valid check digit


def test_reader_affixes_override_the_default_ones() -> None:
    scans = ScansConfig(prefix="]C1", suffix="")
    front = SerialReaderConfig(kind="serial", name="front", port="/dev/x", prefix="\x02")
    rules = ScanRules.from_config(scans, [front])
    assert parse(b"\x02CARD1234", rules, "front") == "CARD1234"
    assert parse(b"]C1CARD1234", rules, "back") == "CARD1234"
    assert parse(b"]C1CARD1234", rules, "front") == Reason.NOT_ALLOWED


def test_debounce_window_slides_with_each_sighting() -> None:
    now = [0.0]
    debounce = Debouncer(2.0, lambda: now[0])
    assert not debounce.is_repeat("A")
    now[0] = 1.5
    assert debounce.is_repeat("A")  # a card held on the reader...
    now[0] = 3.0
    assert debounce.is_repeat("A")  # ...stays one scan
    assert not debounce.is_repeat("B")
    now[0] = 5.1
    assert not debounce.is_repeat("A")
    assert not Debouncer(0, lambda: 1.0).is_repeat("A")


def test_pipeline_outcomes_and_counts() -> None:
    pipeline = ScanPipeline(ScansConfig(), clock=lambda: 0.0)
    card = pipeline.process(raw(b"PIGGY-0001"))
    again = pipeline.process(raw(b"PIGGY-0001", reader="back"))
    product = pipeline.process(raw(b"4006381333931"))
    same_product = pipeline.process(raw(b"4006381333931"))  # two of the same: two products
    bad = pipeline.process(raw(b"SECRET\x1b[0m"))
    assert isinstance(card, Scan)
    assert (card.value, card.kind, card.reader, card.at) == ("PIGGY-0001", "loyalty", "front", AT)
    assert isinstance(again, Repeat)
    assert again.reader == "back"
    assert isinstance(product, Scan)
    assert isinstance(same_product, Scan)
    assert same_product.kind == "plain"
    assert isinstance(bad, Rejection)
    assert (bad.reason, bad.tail) == (Reason.ESCAPE_SEQUENCE, "T[0m")
    assert (pipeline.accepted, pipeline.repeats, dict(pipeline.rejected)) == (
        3,
        1,
        {Reason.ESCAPE_SEQUENCE: 1},
    )


def test_plain_scans_can_be_debounced_too() -> None:
    pipeline = ScanPipeline(ScansConfig(debounce_plain_scans=True), clock=lambda: 0.0)
    assert isinstance(pipeline.process(raw(b"4006381333931")), Scan)
    assert isinstance(pipeline.process(raw(b"4006381333931")), Repeat)


def test_card_values_never_show_in_full() -> None:
    scan = Scan("PIGGYCARD98765", "front", AT, "loyalty")
    assert "PIGGYCARD98765" not in repr(scan)
    assert "8765" in repr(scan)
    assert "PIGGYCARD98765" not in repr(RawScan(b"PIGGYCARD98765", "front", AT))
    assert mask("PIGGYCARD98765") == "…8765"
    assert safe_tail("AB\x1b[31m\x00") == "[31m"
    assert safe_tail("\x00\x01") == ""


def test_escape_raw_is_safe_for_a_terminal() -> None:
    assert escape_raw(b"AB\x1b[31m\\\r") == "AB\\x1b[31m\\x5c\\x0d"
    shown = escape_raw(b"A" * 100, limit=10)
    assert shown == "AAAAAAAAAA… (+90 bytes)"
    assert all(0x20 <= ord(char) < 0x7F or char == "…" for char in escape_raw(bytes(range(256))))


def test_rejected_values_are_masked_to_four_printable_characters() -> None:
    pipeline = ScanPipeline(ScansConfig())
    outcome = pipeline.process(raw(b"A" * 2000 + b"WXYZ\x07"))
    assert isinstance(outcome, Rejection)
    assert outcome.tail == "WXYZ"
    assert all(unicodedata.category(char) != "Cc" for char in outcome.tail)
