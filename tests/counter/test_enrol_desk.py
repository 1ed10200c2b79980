# ruff: noqa: F811 (make_till is test_till's fixture, imported: its users redefine the name)
"""The enrolment desk in the till, against the real sandbox and a real journal: a blank
card scanned and handed out (welcome slip queued once), customers found by e-mail and
chosen for the next sale, customers listed (v1) or refused clearly (v3), and a sale naming
an unregistered card answered with a QR and a notice instead of a credit that would die."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from register_agent.config import TillConfig
from register_agent.counter.enrolment.messages import ChooseCustomerRequest, HandOutRequest
from register_agent.counter.messages import SaleRequest
from register_agent.errors import CounterRefusal
from register_agent.journal import Journal, PrintJob
from register_agent.journal.kinds import CREDIT_RECEPTION, STAGED_CREDIT_RECEPTION
from register_agent.receipts.sale_receipt import compose_receipt
from register_agent.receipts.welcome import slip_id, welcome_record
from register_agent.runtime.metrics import AgentMetrics, Sources
from register_agent.till.sale import Till
from tests.conftest import Sandbox
from tests.support.stored import stored
from tests.till.test_till import MakeTill, make_till, sale, scan  # noqa: F401 (make_till: a fixture)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_retry_waits"), pytest.mark.timeout(30)]
BLANK, JAN_CARD, JAN_V3 = "D4E5F6A7", "A1B2C3D4", "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
NEW = "new@example.org"


def events(till: Till) -> list[tuple[str, Mapping[str, Any]]]:
    return [(event.kind, event.data) for event in till._events.since(0)[0]]


async def print_jobs(till: Till) -> list[PrintJob]:
    return await till._journal.print_jobs_due(till._clock(), 600)


async def test_a_scanned_blank_card_is_offered_then_handed_out(
    make_till: MakeTill, sandbox_clean: Sandbox
) -> None:
    till = make_till("v3")
    await till.scanned(scan(BLANK))
    refused = [data for kind, data in events(till) if kind == "customer_refused"]
    assert refused[0]["offer"] == "hand_out_card"
    assert "hand it out" in str(refused[0]["reason"])

    answer = await till.enrolment.hand_out(HandOutRequest(email=NEW))  # the card just scanned
    assert (answer.customer.display, answer.customer.balance) == (NEW, 0)
    assert answer.customer.card_tail == "F6A7"
    assert answer.slip == "printing"
    assert answer.slip_lines == (
        "Welcome to Bakkerij Centrum",
        "Your card: ****F6A7",
        "Your balance: 0",
        "Show your card at the till to collect points.",
    )
    (job,) = await print_jobs(till)
    slip = await till._journal.sale(job.sale_id)
    assert slip is not None
    assert slip.sale_id == answer.slip_id
    receipt = compose_receipt(slip, [], job, TillConfig())
    assert (receipt.notes, receipt.new_balance, receipt.total) == (answer.slip_lines, None, None)

    again = await till.enrolment.hand_out(HandOutRequest(card=BLANK, email="NEW@example.org"))
    assert again.customer_key == answer.customer_key
    assert again.slip_id == answer.slip_id
    assert len(await print_jobs(till)) == 1  # no second slip
    assert [r["kind"] for r in sandbox_clean.ledger()] == ["contact_created", "identifier_linked"]

    # the new customer is the next sale's, like after a scan
    await till.sell(sale("S-1", "4.00"))
    (credit,) = await till._journal.operations_of_sale("S-1")
    assert credit.kind == CREDIT_RECEPTION
    assert stored(credit.payload)["customer"] == {"key": answer.customer_key, "card": BLANK}


async def test_a_hand_out_without_a_scanned_card_is_refused(make_till: MakeTill) -> None:
    with pytest.raises(CounterRefusal) as refused:
        await make_till("v1").enrolment.hand_out(HandOutRequest(email=NEW))
    assert (refused.value.code, refused.value.status) == ("no_card", 422)


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_someone_elses_card_is_refused(make_till: MakeTill, version: str) -> None:
    with pytest.raises(CounterRefusal) as refused:
        await make_till(version).enrolment.hand_out(HandOutRequest(card=JAN_CARD, email=NEW))
    assert (refused.value.code, refused.value.status) == ("card_taken", 409)
    assert "already belongs to another customer" in str(refused.value)


async def test_offline_the_hand_out_is_refused_not_queued(make_till: MakeTill) -> None:
    till = make_till("v1", base_url="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(CounterRefusal) as refused:
        await till.enrolment.hand_out(HandOutRequest(card=BLANK, email=NEW))
    assert (refused.value.code, refused.value.status) == ("offline", 503)
    assert await print_jobs(till) == []


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_a_customer_chosen_by_email_gets_the_next_sale(
    make_till: MakeTill, version: str
) -> None:
    till = make_till(version)
    view = await till.enrolment.choose(ChooseCustomerRequest(email="jan@example.org"))
    assert (view.display, view.balance, view.card_tail) == ("jan@example.org", 150, None)
    assert view.rewards  # the rewards Jan can see, as after a scan
    assert await till.current_customer() == view
    await till.sell(sale("S-2", "3.00"))
    (credit,) = await till._journal.operations_of_sale("S-2")
    key = "7731" if version == "v1" else JAN_V3
    assert stored(credit.payload)["customer"] == {"key": key, "card": None}
    assert credit.customer_key == f"customer:{key}"
    found = await till.enrolment.find("jan@example.org")
    assert (found.key, found.balance) == (key, 150)
    with pytest.raises(CounterRefusal) as missing:
        await till.enrolment.find("nobody@example.org")
    assert (missing.value.code, missing.value.status) == ("customer_not_found", 404)


async def test_a_card_typed_in_is_chosen_like_a_scan(make_till: MakeTill) -> None:
    till = make_till("v1")
    view = await till.enrolment.choose(ChooseCustomerRequest(card=JAN_CARD))
    assert (view.display, view.card_tail) == ("jan@example.org", "C3D4")
    with pytest.raises(CounterRefusal) as blank:
        await till.enrolment.choose(ChooseCustomerRequest(card=BLANK))
    assert blank.value.code == "card_unregistered"
    assert "Hand out card" in str(blank.value)


async def test_customers_listed_on_v1_and_refused_clearly_on_v3(make_till: MakeTill) -> None:
    page = await make_till("v1").enrolment.list_customers(2, 3)
    assert ([c.key for c in page.customers], page.last_page, page.total) == (["7734"], 2, 4)
    with pytest.raises(CounterRefusal) as refused:
        await make_till("v3").enrolment.list_customers(1, 25)
    assert (refused.value.code, refused.value.status) == ("customer_list_unsupported", 409)


# no outbox runs here: v1's staged reception (its QR) is not made within the wait
@pytest.mark.parametrize(("version", "state"), [("v1", "none"), ("v3", "qr")])
async def test_a_sale_naming_an_unregistered_card_gets_a_qr_and_a_notice(
    make_till: MakeTill, version: str, state: str
) -> None:
    till = make_till(version, receipt_wait_s=1.0)
    answer = await till.sell(SaleRequest(sale_id="S-3", amount="5.00", customer_card=BLANK))
    assert answer.loyalty.notice is not None
    assert answer.loyalty.notice.code == "card_unregistered"
    assert "hand it out" in answer.loyalty.notice.message
    assert answer.loyalty.state == state
    kinds = [op.kind for op in await till._journal.operations_of_sale("S-3")]
    assert kinds == ([STAGED_CREDIT_RECEPTION] if version == "v1" else [])
    stored = await till._journal.sale("S-3")
    assert stored is not None
    assert (stored.request["customer_card"], stored.customer_key) == ("…F6A7", None)
    # and the hand-out may follow without typing the card again
    handed = await till.enrolment.hand_out(HandOutRequest(email=NEW))
    assert handed.customer.card_tail == "F6A7"


async def test_a_sale_naming_a_registered_card_is_resolved_at_once(make_till: MakeTill) -> None:
    till = make_till("v3", receipt_wait_s=1.0)
    answer = await till.sell(SaleRequest(sale_id="S-4", amount="5.00", customer_card=JAN_CARD))
    assert answer.loyalty.notice is None
    (credit,) = await till._journal.operations_of_sale("S-4")
    assert stored(credit.payload)["customer"] == {"key": JAN_V3, "card": JAN_CARD}


async def test_a_welcome_slip_is_not_counted_as_a_sale(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "journal.sqlite3")
    try:
        lines = ("Welcome to Bakkerij Centrum", "Your card: ****F6A7")
        slip = welcome_record(slip_id(BLANK, NEW), lines, 0, "EUR", 1.0)
        await journal.record_sale(slip, [], print_receipt=True)
    finally:
        journal.close()
    metrics = AgentMetrics(
        Sources(
            journal_file=tmp_path / "journal.sqlite3",
            api_state=lambda: "reachable",
            printer=lambda: None,
            readers=list,
            started_at=0.0,
        )
    )
    assert "register_agent_sales_total 0.0" in generate_latest(metrics.registry).decode()
