"""Every kind of slip the agent prints carries its date and time, and a sale's slip its sale
id, in the printer's small font: read from the laid-out text and from the printer's bytes
(``drivers/escpos_render.py``, what a printer receives)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

import pytest

from drivers.escpos_render import render
from register_agent.config import NetworkPrinterConfig, ReceiptConfig, TillConfig
from register_agent.journal import PrintJob, PrintJobState
from register_agent.receipts.layout import ReceiptLayout, TextLine, layout_receipt
from register_agent.receipts.sale_receipt import compose_receipt
from register_agent.receipts.status_ticket import print_test_receipt
from register_agent.receipts.welcome import claim_lines, claim_slip_id, welcome_record
from tests.support.printing_support import NOW, V3_QR, sale_record

SHOP = ReceiptConfig(header=("Bakkerij Jansen",))
PRINTER = NetworkPrinterConfig(kind="network", host="127.0.0.1")
FIRST = PrintJob(1, "4711", 0, PrintJobState.PENDING, 0, None, NOW, None)
WHEN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
#: ESC M 1 / ESC M 0: the printer's small font, on and off again
SMALL, NORMAL = b"\x1bM\x01", b"\x1bM\x00"


def slips() -> dict[str, tuple[ReceiptLayout, str | None]]:
    """Each kind of slip, laid out, with the sale id it must show (None: not a sale)."""
    sale = sale_record("4711", V3_QR, created_at=NOW)
    welcome = welcome_record("welcome-1", ("Your card: ****C3D4",), 0, "EUR", NOW)
    claim_id = claim_slip_id("claim-7")
    claim = welcome_record(claim_id, claim_lines("Free coffee", "K7Q2", "en"), 0, "EUR", NOW)
    slip_till = TillConfig(prints="loyalty_slip")
    receipts = {
        "sale": (compose_receipt(sale, [], FIRST, TillConfig()), "4711"),
        "copy": (compose_receipt(sale, [], replace(FIRST, copy=1), TillConfig()), "4711"),
        "loyalty slip": (compose_receipt(sale, [], FIRST, slip_till), "4711"),
        "welcome": (compose_receipt(welcome, [], FIRST, TillConfig()), None),
        "claim": (compose_receipt(claim, [], FIRST, TillConfig()), None),
        "print-test": (print_test_receipt(SHOP, "https://x.test/q"), "TEST"),
    }
    return {kind: (layout_receipt(r, SHOP, 42), sale_id) for kind, (r, sale_id) in receipts.items()}


@pytest.mark.parametrize("kind", list(slips()))
def test_every_slip_has_its_time_and_a_sales_slip_its_id_in_small_print(kind: str) -> None:
    layout, sale_id = slips()[kind]
    small = [e for e in layout.elements if isinstance(e, TextLine) and e.small]
    stamped = [line for line in small if WHEN.search(line.text)]
    assert stamped, layout.plain_text()
    line = stamped[-1].text  # the sale's (a copy's own time comes first)
    if sale_id is not None:
        assert line.startswith(f"Sale {sale_id} ")
    else:
        assert not line.strip().startswith("Sale")  # a slip of no sale names none

    printed = render(layout, PRINTER)
    at = printed.index(line.encode("cp858"))
    assert printed[:at].endswith(SMALL)  # in the small font, and the normal one after it
    assert printed[at + len(line) : at + len(line) + 4] == b"\n" + NORMAL


def test_the_test_slip_is_dated_now() -> None:
    layout, _ = slips()["print-test"]
    today = datetime.now().astimezone().strftime("%Y-%m-%d")
    assert any(today in line for line in layout.plain_text().splitlines())
