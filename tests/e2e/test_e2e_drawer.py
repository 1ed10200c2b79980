"""The cash drawer on a real till: the agent in its own process, the drawer pulsed through
the virtual TCP printer in another process (``support/printer_process.py``), read from the
printer's bytes and the local API's answers. The pulse goes out while a receipt waits for its
credits (never behind it), a sale's receipt carries no pulse, a repeated sale opens nothing,
and a printer that is away gets no pulse and the POS a sentence saying to use the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from drivers.escpos_text import TextReceipts
from drivers.virtual_printer import VirtualState
from register_agent.counter.messages import SaleRequest
from register_agent.till.sale_answers import request_digest
from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess, wait_for
from tests.support.printer_process import PrinterProcess

#: ESC p, pin 2 (m = 0), 100 ms on and 200 ms off in 2 ms steps: the config's defaults
PULSE = b"\x1bp\x00\x32\x64"
CARD = "A1B2C3D4"  # Jan, of the sandbox's seed


@pytest.fixture
def agent(
    sandbox_clean: Sandbox, printer: PrinterProcess, tmp_path: Path
) -> Iterator[AgentProcess]:
    # the receipt waits long for the credits: longer than the drawer can take to open
    till = AgentProcess(tmp_path, sandbox_clean, "v3", receipt_wait_s=10, printer=printer)
    try:
        yield till.start()
    finally:
        till.close()


def pulses(printer: PrinterProcess) -> list[int]:
    """The printer's jobs that are the drawer's pulse, by their place among all jobs."""
    return [index for index, job in enumerate(printer.jobs()) if job.data == PULSE]


def test_the_drawer_opens_while_the_receipt_waits_for_its_credits(
    agent: AgentProcess, printer: PrinterProcess, sandbox_clean: Sandbox
) -> None:
    # the credits cannot land: the receipt waits for them (receipt_wait_s)
    sandbox_clean.set_fault(mode="error_503", paths=[".*/credit-receptions$"])
    answer = agent.sell("drawer-1", "12.50", customer_card=CARD, open_drawer=True)
    assert answer.status_code == 200, answer.text
    assert answer.json()["drawer"] == {"opened": True, "message": ""}
    assert pulses(printer) == [0]  # out already, the receipt not (it waits for the credits)

    opened = agent.http.post("/v1/drawer")  # the cashier's button, while the receipt waits
    assert opened.status_code == 200, opened.text
    assert opened.json() == {"opened": True, "message": ""}
    assert pulses(printer) == [0, 1]
    assert not agent.printed_for("drawer-1")

    sandbox_clean.clear_faults()
    receipt = agent.wait_printed("drawer-1", 20)
    assert b"\x1bp" not in receipt  # the receipt's bytes carry no pulse of their own
    jobs = printer.jobs()
    assert [job.data for job in jobs[:2]] == [PULSE, PULSE]  # both before the receipt

    # the POS resends the sale (its answer was lost): the first answer, no second pulse
    again = agent.sell("drawer-1", "12.50", customer_card=CARD, open_drawer=True)
    assert again.json()["drawer"] == {"opened": True, "message": ""}
    agent.sell("plain-1", "3.00").raise_for_status()  # no drawer asked: none opened
    agent.wait_printed("plain-1", 10)
    assert len(pulses(printer)) == 2
    assert agent.sell("plain-2", "3.00").json()["drawer"] is None


def test_a_printer_that_is_away_gets_no_pulse_and_the_pos_is_told_to_use_the_key(
    agent: AgentProcess, printer: PrinterProcess
) -> None:
    printer.state = VirtualState.COVER_OPEN
    refused = agent.http.post("/v1/drawer")
    assert refused.status_code == 503, refused.text
    body = refused.json()
    assert body["code"] == "drawer_not_opened"
    assert "cover is open" in body["message"]
    assert "open the drawer with its key" in body["message"]

    sold = agent.sell("away-1", "5.00", open_drawer=True)
    assert sold.status_code == 200, sold.text  # the sale is recorded all the same
    drawer = sold.json()["drawer"]
    assert drawer["opened"] is False
    assert "open the drawer with its key" in drawer["message"]

    printer.stop()  # switched off: nothing answers on its port
    gone = agent.http.post("/v1/drawer")
    assert gone.status_code == 503, gone.text
    assert "cannot be reached" in gone.json()["message"]
    assert "open the drawer with its key" in gone.json()["message"]


def test_a_printer_back_gets_the_pulse_once_and_nothing_held_from_before(
    agent: AgentProcess, printer: PrinterProcess
) -> None:
    printer.state = VirtualState.OFFLINE
    assert agent.http.post("/v1/drawer").status_code == 503
    printer.state = VirtualState.OK
    wait_for(lambda: agent.http.post("/v1/drawer").status_code == 200, 10, "the drawer")
    assert [job.data for job in printer.jobs()] == [PULSE]  # nothing held sprang out later


def test_a_sale_without_the_drawer_digests_as_before_the_drawer_was_a_field() -> None:
    """A POS resending, after an upgrade, a sale recorded before it is a repeat, not a 409."""
    request = SaleRequest(sale_id="s-1", amount=Decimal("12.50"), customer_card=CARD)
    before = dict(request.model_dump(mode="json"))
    del before["open_drawer"], before["confirmed"]  # both came after such a sale
    digest = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()
    assert request_digest(request) == digest
    assert request_digest(request.model_copy(update={"open_drawer": True})) != digest


def test_the_sandbox_printer_writes_no_empty_receipt_for_a_pulse(tmp_path: Path) -> None:
    shown = TextReceipts(tmp_path)
    shown.write(PULSE)
    assert not list(tmp_path.glob("receipt-*.txt"))
    shown.write(b"\x1b@Sale 1\n")
    assert [path.read_text() for path in tmp_path.glob("receipt-*.txt")] == ["Sale 1\n"]
