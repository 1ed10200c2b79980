"""``ESC R n`` in the pass-through reader: a till that selects an international character set
prints other letters at twelve ASCII codes, and the reader decodes them as the printer
prints them (Epson's table as public sources give it, ``passthrough/code_pages.py``). One
line per set, in a word of its country written with the ASCII bytes the till sends."""

from __future__ import annotations

from decimal import Decimal

import pytest

from register_agent.config import PassthroughConfig, ReceiptConfig
from register_agent.counter.messages import LoyaltyBlock
from register_agent.passthrough.block import block_bytes, block_layout
from register_agent.passthrough.escpos_reader import decode_job, read_commands
from register_agent.passthrough.template import FoundReceipt, decode_for, find_sale


@pytest.mark.parametrize(
    ("number", "sent", "printed"),
    [
        (0, b"#1 @ $5 [a] {b} ~", "#1 @ $5 [a] {b} ~"),  # U.S.A.
        (1, b"Caf{ cr`me } la p|che", "Café cr`me è la pùche"),  # France
        (2, b"Gr}~e aus K|ln", "Grüße aus Köln"),  # Germany
        (3, b"#4.50", "£4.50"),  # U.K.
        (4, b"R|dgr|d med fl|de", "Rødgrød med fløde"),  # Denmark I
        (5, b"sm|rg}sbord", "smörgåsbord"),  # Sweden
        (6, b"citt{ perch]", "città perché"),  # Italy
        (7, b"Espa|a [ole! `", "España ¡ole! \u00b4"),  # Spain I
        (8, b"\\500", "¥500"),  # Japan
        (9, b"bl}b{rsyltet|y", "blåbærsyltetøy"),  # Norway
        (10, b"Sm|rrebr|d @n", "Smørrebrød Én"),  # Denmark II
        (11, b"Jam}n ib^rico `", "Jamón ibérico \u00b4"),  # Spain II
        (12, b"Ping`ino [s[!", "Pingüino ¡s¡!"),  # Latin America
        (13, b"\\1000", "₩1000"),  # Korea
        (14, b"~evap~i}i", "čevapčići"),  # Slovenia / Croatia
        (15, b"$8 \\", "¥8 \\"),  # China: the yuan where $ is, the backslash kept
        (16, b"50000# $", "50000₫ $"),  # Vietnam: the dong where # is
        (17, b"15% * $", "15\u066a \u066d $"),  # Arabia: its percent sign and star
    ],
)
def test_each_international_set_prints_its_own_letters(
    number: int, sent: bytes, printed: str
) -> None:
    job = b"\x1b@\x1bR" + bytes([number]) + sent + b"\n\x1b@" + sent + b"\n"
    assert decode_job(job).lines == [printed, sent.decode("ascii")]  # ESC @: U.S.A. again


def test_indias_sets_keep_the_digits_and_amounts_never_change() -> None:
    # 66 (Devanagari) prints its own numerals for 0-9: read as the till meant them
    job = b"\x1bRBTOTAL $ 12.50\n\x1bR\x02TOTAL 12,50\n"
    assert decode_job(job).lines == ["TOTAL $ 12.50", "TOTAL 12,50"]


def test_a_recorded_receipt_in_the_china_set_reads_its_total() -> None:
    """A till set to China prints its yuan sign with the $ byte: the template still finds
    the amount, and the installer sees the sign the customer sees."""
    job = b"\x1b@\x1bR\x0fShop\nTOTAL $88.00\n\x1dVA\x00"
    decoded = decode_for(job, PassthroughConfig(enabled=True))
    assert decoded.lines == ["Shop", "TOTAL ¥88.00"]
    found = find_sale(decoded, PassthroughConfig(enabled=True).template)
    assert isinstance(found, FoundReceipt)
    assert found.total == Decimal("88.00")


def test_the_block_prints_in_the_usa_set_and_gives_the_till_its_set_back() -> None:
    before = b"\x1bR\x02Summe 12,50\n"
    layout = block_layout(LoyaltyBlock(state="none", lines=("#1",)), ReceiptConfig(), 42)
    inserted = block_bytes(layout, lambda _: b"#1\n", before, read_commands(before))
    assert inserted.index(b"\x1bR\x00") < inserted.index(b"#1\n")
    assert inserted.endswith(b"\x1bR\x02")
