"""The template: which receipt of a job is the customer's, and what it totals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from register_agent.config import AgentConfig, PassthroughConfig, ReceiptTemplate
from register_agent.passthrough.escpos_reader import decode_job
from register_agent.passthrough.template import (
    FoundReceipt,
    Unmatched,
    find_sale,
    parse_amount,
    read_sale,
    split_receipts,
)
from tests.support.escpos_streams import STREAMS, shop_receipt

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "escpos"
ESC, GS = b"\x1b", b"\x1d"
CUT = GS + b"VA\x03"


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("12,50", Decimal("12.50")),
        ("12.50", Decimal("12.50")),
        ("1.234,50", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("1 234,50", Decimal("1234.50")),
        ("1'234.50", Decimal("1234.50")),
        ("7", Decimal(7)),
        ("12,5", Decimal("12.5")),
        ("1.234", Decimal(1234)),  # three digits after the only separator: thousands
        ("-3,00", Decimal("-3.00")),
        ("1,2,3", None),
        ("1.234,56.78", None),
        ("12.34.5", None),
        ("", None),
        ("EUR", None),
    ],
)
def test_amounts_read_as_tills_print_them(text: str, amount: Decimal | None) -> None:
    assert parse_amount(text) == amount


def _receipt(*lines: str, cut: bool = True) -> bytes:
    body = b"".join(line.encode("cp858") + b"\n" for line in lines)
    return body + (ESC + b"d\x03" + CUT if cut else b"")


def _last_cut(data: bytes) -> int:
    return data.rindex(CUT)


REPRINT = _receipt("Bon 4711", "*** DUPLICAAT ***", "TOTAAL 3,10")
TWO = _receipt("Bon 1", "TOTAL 1,00") + _receipt("Bon 2", "TOTAL 2,00")
NUMBER_IN_TOTAL = _receipt("Te betalen (bon 88):  9,95")

CUSTOMER = _receipt("Bakkerij Jansen", "Bon 4711", "2x Krentenbol   3,10", "TOTAAL    € 3,10")
MERCHANT = _receipt("Bakkerij Jansen", "Bon 4711", "TOTAAL    € 3,10", "WINKELKOPIE")
CARD_SLIP = _receipt("BETAALAUTOMAAT", "Terminal 123", "Bedrag    EUR 3,10", "MAESTRO")
KITCHEN = _receipt("KEUKEN", "2x Krentenbol")

BON = r"^Bon (?P<receipt_no>\d+)$"
TEMPLATE = ReceiptTemplate(receipt_no=[BON], skip=[r"WINKELKOPIE", r"BETAALAUTOMAAT"])


#: job, template -> what find_sale says
CASES: list[tuple[str, bytes, ReceiptTemplate, FoundReceipt | Unmatched]] = [
    (
        "customer's receipt then the merchant's copy",
        CUSTOMER + MERCHANT,
        TEMPLATE,
        FoundReceipt(Decimal("3.10"), "4711", False, len(CUSTOMER) - len(CUT)),
    ),
    (
        "card slip, merchant's copy, then the customer's",
        CARD_SLIP + MERCHANT + CUSTOMER,
        TEMPLATE,
        FoundReceipt(
            Decimal("3.10"), "4711", False, len(CARD_SLIP + MERCHANT + CUSTOMER) - len(CUT)
        ),
    ),
    (
        "a kitchen ticket without a total is passed over",
        KITCHEN + CUSTOMER,
        TEMPLATE,
        FoundReceipt(Decimal("3.10"), "4711", False, len(KITCHEN + CUSTOMER) - len(CUT)),
    ),
    (
        "no cut: the block goes at the end",
        _receipt("Bon 12", "Totaal 1.234,50", cut=False),
        TEMPLATE,
        FoundReceipt(Decimal("1234.50"), "12", False, None),
    ),
    (
        "a reprint says so",
        REPRINT,
        TEMPLATE,
        FoundReceipt(Decimal("3.10"), "4711", True, _last_cut(REPRINT)),
    ),
    (
        "pick the last of two receipts",
        TWO,
        ReceiptTemplate(receipt_no=[BON], pick="last"),
        FoundReceipt(Decimal("2.00"), "2", False, _last_cut(TWO)),
    ),
    (
        "the receipt number in the total's own pattern",
        NUMBER_IN_TOTAL,
        ReceiptTemplate(total=[r"bon (?P<receipt_no>\d+)\D*(?P<total>\d+,\d\d)"]),
        FoundReceipt(Decimal("9.95"), "88", False, _last_cut(NUMBER_IN_TOTAL)),
    ),
    (
        "Subtotal is not the total",
        _receipt("Subtotal 12,95", "Tax 1,30"),
        ReceiptTemplate(),
        Unmatched("no_total"),
    ),
    ("every receipt skipped", MERCHANT + CARD_SLIP, TEMPLATE, Unmatched("all_skipped")),
    ("a refund", _receipt("TOTAAL -3,10"), TEMPLATE, Unmatched("not_positive")),
    (
        "a total that is no amount",
        _receipt("TOTAL 1,2,3"),
        ReceiptTemplate(total=[r"TOTAL (?P<total>[\d,]+)"]),
        Unmatched("bad_amount"),
    ),
    ("nothing printed", ESC + b"@" + ESC + b"p\x00\x19\xfa", TEMPLATE, Unmatched("no_text")),
]


@pytest.mark.parametrize(
    ("job", "template", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_the_template_finds_the_customers_sale(
    job: bytes, template: ReceiptTemplate, expected: FoundReceipt | Unmatched
) -> None:
    assert find_sale(decode_job(job), template) == expected


def test_a_recorded_receipt_totals_what_it_prints() -> None:
    data = (CORPUS / "escpos-tools-receipt-with-logo.bin").read_bytes()
    job, found = read_sale(data, PassthroughConfig())
    # "Subtotal 12.95" comes first; the total is the line that starts with Total
    assert found == FoundReceipt(Decimal("14.25"), None, False, data.index(GS + b"VA"))
    assert job is not None
    assert job.cut_offsets == [data.index(GS + b"VA")]


def test_a_template_in_the_tills_own_language_finds_the_chinese_bills_total() -> None:
    config = PassthroughConfig(
        multibyte_code_page="gb18030",
        template=ReceiptTemplate(total=["应收金额\uff1a(?P<total>[0-9.]+)"]),
    )
    data = (CORPUS / "escposparser-receipt-text.bin").read_bytes()
    _, found = read_sale(data, config)
    assert found == FoundReceipt(Decimal("68.00"), None, False, data.index(GS + b"V\x01"))


def test_python_escpos_receipts_total_and_copy() -> None:
    number = ReceiptTemplate(receipt_no=[r"Bonnr: (?P<receipt_no>[\d-]+)"])
    data = shop_receipt()
    found = find_sale(decode_job(data), number)
    assert found == FoundReceipt(Decimal("12.50"), "2024-00117", False, data.rindex(GS + b"V"))
    copy = find_sale(decode_job(shop_receipt(copy=True)), number)
    assert isinstance(copy, FoundReceipt)
    assert copy.is_copy


def test_a_picture_receipt_and_a_broken_job_are_unmatched_with_their_reason() -> None:
    config = PassthroughConfig()
    assert read_sale(STREAMS["raster_only_receipt"][0](), config) == (
        decode_job(STREAMS["raster_only_receipt"][0]()),
        Unmatched("raster_only"),
    )
    assert read_sale(b"TOTAL 1,00\n" + GS + b"v0\x00\xff\x00\xff\x00", config) == (
        None,
        Unmatched("out_of_sync"),
    )


def test_receipts_split_at_cuts_with_their_line_numbers() -> None:
    job = decode_job(KITCHEN + CUSTOMER + b"\n\n")
    receipts = split_receipts(job)
    assert [(r.first_line, r.lines[0]) for r in receipts] == [(1, "KEUKEN"), (3, "Bakkerij Jansen")]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"template": {"total": ["TOTAL (\\d+)"]}}, "has no named group (?P<total>...)"),
        ({"template": {"receipt_no": ["Bon \\d+"]}}, "(?P<receipt_no>...)"),
        ({"template": {"skip": ["KOPIE("]}}, "is not a valid regular expression"),
        ({"template": {"copy_markers": ["KOPIE|"]}}, "matches an empty line, so every line"),
        ({"template": {"totals": []}}, "Extra inputs are not permitted"),
        ({"code_pages": {16: "cp9999"}}, "is no code page Python knows"),
        ({"multibyte_code_page": "gb9999"}, "is no code page Python knows"),
        ({"listen": "till:port"}, "must be address:port"),
    ],
)
def test_a_bad_template_or_section_says_what_to_fix(
    section: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        PassthroughConfig.model_validate(section)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:9100", "127.0.0.1", 9100),
        ("192.168.1.20", "192.168.1.20", 9100),
        ("[::1]:9101", "::1", 9101),
    ],
)
def test_the_listen_address(listen: str, host: str, port: int) -> None:
    section = PassthroughConfig(listen=listen)
    assert (section.listen_host, section.listen_port) == (host, port)


def test_an_existing_till_needs_no_new_keys_the_section_is_off() -> None:
    section = AgentConfig().passthrough
    assert (section.enabled, section.listen_port, section.serial_device) == (False, 9100, None)
    assert (section.serial_baudrate, section.serial_idle_gap_s) == (38400, 0.5)
    assert section.cut_dialect == "epson"
