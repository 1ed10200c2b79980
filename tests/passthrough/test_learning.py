"""The template passthrough-learn proposes from one recorded job."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from register_agent.config import ReceiptTemplate
from register_agent.passthrough.escpos_reader import decode_job
from register_agent.passthrough.learning import propose_template, template_toml
from register_agent.passthrough.template import FoundReceipt, find_sale
from tests.support.escpos_streams import STREAMS, shop_receipt

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "escpos"
CUT = b"\x1dVA\x03"


def _job(*lines: str) -> bytes:
    return b"".join(line.encode("cp858") + b"\n" for line in lines) + CUT


#: job -> (total, receipt number, the total's line, the number's line)
PROPOSALS: list[tuple[str, bytes, tuple[Decimal, str | None, int, int | None]]] = [
    (
        "escpos-tools receipt: Total, not Subtotal",
        (CORPUS / "escpos-tools-receipt-with-logo.bin").read_bytes(),
        (Decimal("14.25"), None, 13, None),
    ),
    ("python-escpos café receipt", shop_receipt(), (Decimal("12.50"), "2024-00117", 6, 2)),
    (
        "the largest amount after a total word wins",
        _job("Bon nr. 88", "Totaal artikelen 3", "TE BETALEN   EUR 1.234,50", "Contant 1.300,00"),
        (Decimal("1234.50"), "88", 3, 1),
    ),
    (
        "stars around the word",
        _job("Ticket: A-17", "*** TOTAL ***      9.95", "Change 0.05"),
        (Decimal("9.95"), "A-17", 2, 1),
    ),
]


@pytest.mark.parametrize(
    ("data", "expected"), [row[1:] for row in PROPOSALS], ids=[row[0] for row in PROPOSALS]
)
def test_the_proposal_finds_the_total_on_the_job_it_came_from(
    data: bytes, expected: tuple[Decimal, str | None, int, int | None]
) -> None:
    job = decode_job(data)
    proposal = propose_template(job)
    assert proposal is not None
    total, number, total_line, number_line = expected
    assert (proposal.found.total, proposal.found.receipt_no) == (total, number)
    assert (proposal.total_line, proposal.receipt_no_line) == (total_line, number_line)
    # written out and read back as the installer pastes it, it finds the same sale
    table = tomllib.loads(template_toml(proposal.template))["passthrough"]["template"]
    assert find_sale(job, ReceiptTemplate.model_validate(table)) == proposal.found


def test_a_customer_receipt_after_a_merchant_copy_is_picked_last() -> None:
    merchant = _job("WINKELKOPIE", "Totaal 3,10")
    customer = _job("Bakkerij Jansen", "Totaal 4,20")
    proposal = propose_template(decode_job(merchant + customer))
    assert proposal is not None
    assert proposal.template.pick == "last"
    assert proposal.found == FoundReceipt(
        Decimal("4.20"), None, False, len(merchant + customer) - len(CUT)
    )


@pytest.mark.parametrize(
    "data",
    [STREAMS["raster_only_receipt"][0](), _job("Subtotal 3,00", "Cash 5,00")],
    ids=["picture only", "no total word"],
)
def test_no_proposal_without_a_total_line(data: bytes) -> None:
    assert propose_template(decode_job(data)) is None


def test_the_template_file_reads_back_whatever_the_patterns_hold() -> None:
    template = ReceiptTemplate(
        total=[r"^Te betalen\s*(?P<total>\d+,\d\d)", r"it's (?P<total>\d+)'"],
        skip=['"KOPIE"', "line\\'s end'''"],
    )
    table = tomllib.loads(template_toml(template))["passthrough"]["template"]
    assert ReceiptTemplate.model_validate(table) == template
