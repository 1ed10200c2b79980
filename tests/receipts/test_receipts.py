"""The receipt as data: layout to the paper width, languages, money, COPY, hostile text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from register_agent.config import ReceiptConfig
from register_agent.receipts.layout import (
    TEXTS,
    Barcode,
    Cut,
    QrCode,
    Receipt,
    ReceiptLayout,
    Rule,
    SaleLine,
    TextLine,
    clean,
    format_money,
    layout_receipt,
)

SHOP = ReceiptConfig(header=("Bakkerij Jansen", "Dorpsstraat 1, Utrecht"), footer=("Bedankt!",))
URL = "https://loyalty.piggy.eu/t/0f3a9c"


def sale(**changes: object) -> Receipt:
    base: dict[str, object] = {
        "sale_id": "4711",
        "lines": (SaleLine("Café crème", Decimal("3.50")), SaleLine("Appeltaart", Decimal("9"))),
        "total": Decimal("12.50"),
        "credits_earned": 12,
        "new_balance": 140,
    }
    base.update(changes)
    return Receipt(**base)  # type: ignore[arg-type]


def text_lines(layout: ReceiptLayout) -> list[TextLine]:
    return [e for e in layout.elements if isinstance(e, TextLine)]


def printed_width(line: TextLine) -> int:
    return len(line.text) * (2 if line.large else 1)


@pytest.mark.parametrize(
    ("amount", "language", "expected"),
    [
        (Decimal("12.5"), "nl", "€ 12,50"),
        (Decimal("12.5"), "en", "€12.50"),
        (Decimal("1234.567"), "nl", "€ 1.234,57"),
        (Decimal("1234.5"), "en", "€1,234.50"),
        (Decimal("-3.5"), "nl", "-€ 3,50"),
        (Decimal("0.005"), "en", "€0.01"),
    ],
)
def test_money_is_written_the_way_the_language_writes_it(
    amount: Decimal, language: str, expected: str
) -> None:
    assert format_money(amount, language, "EUR") == expected  # type: ignore[arg-type]


def test_a_currency_without_a_sign_is_written_by_its_code() -> None:
    assert format_money(Decimal("7"), "nl", "CHF") == "CHF 7,00"


def test_every_fixed_text_exists_in_every_language() -> None:
    for key, translations in TEXTS.items():
        assert set(translations) == {"en", "nl"}, key
        assert all(translations.values()), key


@pytest.mark.parametrize("width", [32, 42, 48])
def test_every_line_fits_the_paper(width: int) -> None:
    receipt = sale(
        lines=(SaleLine("Een heel lange omschrijving van een artikel " * 3, Decimal("1.99")),),
        reward_claimed="Gratis koffie bij de volgende aankoop in een van onze winkels",
        points_pending=True,
    )
    layout = layout_receipt(receipt, SHOP, width)
    assert layout.width == width
    assert all(printed_width(line) <= width for line in text_lines(layout))


@pytest.mark.parametrize("width", [32, 42])
def test_amounts_are_right_aligned_at_the_paper_edge(width: int) -> None:
    layout = layout_receipt(sale(), ReceiptConfig(language="nl"), width)
    total = next(line.text for line in text_lines(layout) if line.text.startswith("Totaal"))
    assert len(total) == width
    assert total.endswith("€ 12,50")
    assert total.split() == ["Totaal", "€", "12,50"]


def test_58_and_80_mm_receipts_differ_only_in_width() -> None:
    narrow = layout_receipt(sale(), SHOP, 32)
    wide = layout_receipt(sale(), SHOP, 42)
    assert [line.text.split() for line in text_lines(narrow)] == [
        line.text.split() for line in text_lines(wide)
    ]
    assert max(map(printed_width, text_lines(narrow))) == 32
    assert max(map(printed_width, text_lines(wide))) == 42


def test_english_and_dutch_texts() -> None:
    english = layout_receipt(sale(qr_url=URL), ReceiptConfig(language="en"), 42)
    dutch = layout_receipt(sale(qr_url=URL), ReceiptConfig(language="nl"), 42)
    assert "Points earned" in english.plain_text()
    assert "Gespaarde punten" in dutch.plain_text()
    assert "Your balance" in english.plain_text()
    assert "Uw saldo" in dutch.plain_text()
    assert [e.caption for e in english.elements if isinstance(e, QrCode)] == [
        "Scan to collect your points"
    ]
    assert [e.caption for e in dutch.elements if isinstance(e, QrCode)] == [
        "Scan en spaar uw punten"
    ]


def test_the_shop_header_is_large_and_centred_and_the_receipt_ends_with_a_cut() -> None:
    layout = layout_receipt(sale(), SHOP, 42)
    first = layout.elements[0]
    assert first == TextLine("Bakkerij Jansen", align="center", bold=True, large=True)
    assert isinstance(layout.elements[-1], Cut)
    assert "Bedankt!" in layout.plain_text()


def test_a_reprint_says_copy_and_the_first_print_does_not() -> None:
    first = layout_receipt(sale(), ReceiptConfig(language="nl"), 32)
    reprint = layout_receipt(sale(copy=True), ReceiptConfig(language="nl"), 32)
    assert "KOPIE" not in first.plain_text()
    assert "*** KOPIE ***" in reprint.plain_text()
    assert "*** COPY ***" in layout_receipt(sale(copy=True), ReceiptConfig(), 32).plain_text()


def test_a_receipt_without_a_card_carries_the_qr_code_and_no_credits() -> None:
    layout = layout_receipt(
        Receipt(total=Decimal("12.50"), qr_url=URL), ReceiptConfig(language="en"), 32
    )
    assert [e.data for e in layout.elements if isinstance(e, QrCode)] == [URL]
    assert "Points earned" not in layout.plain_text()


def test_points_that_did_not_arrive_in_time_are_promised() -> None:
    layout = layout_receipt(sale(credits_earned=None, points_pending=True), ReceiptConfig(), 42)
    assert "Your points will be added shortly." in layout.plain_text()


def test_reward_claimed_is_printed() -> None:
    layout = layout_receipt(sale(reward_claimed="Gratis koffie"), ReceiptConfig(language="nl"), 42)
    assert "Beloning: Gratis koffie" in layout.plain_text()


HOSTILE = [
    "Koffie\x1b@\x1bt\x10",  # ESC: reset, code page switch
    "Thee\x1dV\x00",  # GS V: cut in the middle
    "Melk\x10\x04\x01",  # DLE EOT: a status query
    "Suiker\x00\x07",  # NUL, BEL
    "\x1b[31mRood\x1b[0m",  # ANSI colour
    "Rechts\u202enaar links",  # bidi override
    "Tab\there\r\nen daar",
]


def test_control_bytes_never_reach_the_layout() -> None:
    settings_ = ReceiptConfig(header=("Shop\x1b!\x30",), footer=("Bye\x1dV\x01",))
    receipt = sale(
        sale_id="47\x0011",
        lines=tuple(SaleLine(text, Decimal(1)) for text in HOSTILE),
        reward_claimed="Koffie\x1bE",
        qr_url=URL + "\x1b",
        barcode="ABC\x1d123",
    )
    layout = layout_receipt(receipt, settings_, 42)
    for element in layout.elements:
        for value in vars(element).values():
            if isinstance(value, str):
                assert all(ch >= " " and ch != "\x7f" for ch in value), repr(value)
                assert "\u202e" not in value
    assert "Tab here  en daar" in layout.plain_text()
    assert [e.data for e in layout.elements if isinstance(e, QrCode)] == [URL]
    assert [e.data for e in layout.elements if isinstance(e, Barcode)] == ["ABC123"]


def test_clean_keeps_printable_text_and_accents() -> None:
    assert clean("  Café crème € 3,50  ") == "Café crème € 3,50"
    assert clean("\x1b[31mRood\x1b[0m") == "[31mRood[0m"


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(max_size=80), max_size=5),
    width=st.sampled_from([32, 42, 48]),
    language=st.sampled_from(["en", "nl"]),
)
def test_any_pos_text_lays_out_within_the_paper_and_without_control_bytes(
    texts: list[str], width: int, language: str
) -> None:
    receipt = sale(lines=tuple(SaleLine(text, Decimal("1.5")) for text in texts))
    layout = layout_receipt(receipt, ReceiptConfig(language=language), width)
    for line in text_lines(layout):
        assert printed_width(line) <= width
        assert not any(ch < " " for ch in line.text)
    assert sum(isinstance(e, Rule) for e in layout.elements) >= 1


def test_a_missing_qr_is_said_plainly_and_a_qr_always_wins() -> None:
    missing = layout_receipt(Receipt(sale_id="4711", qr_unavailable=True), SHOP, 42)
    assert "No QR code" in missing.plain_text()
    assert not any(isinstance(element, QrCode) for element in missing.elements)
    both = layout_receipt(Receipt(qr_url=URL, qr_unavailable=True), SHOP, 42)
    assert [e.data for e in both.elements if isinstance(e, QrCode)] == [URL]
    assert "No QR code" not in both.plain_text()
