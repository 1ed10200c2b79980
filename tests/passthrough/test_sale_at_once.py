"""A receipt's sale decided on the relay's thread (``Till.sale_at_once``), then recorded on
the loop with that decision (``Till.sell(decided=...)``): a real till against the sandbox
and a real journal. The decision is only ever a v3 QR for a sale id the journal does not
hold and with no customer waiting; the loop honours it, so a card scanned in between is
left for the next sale and never credited on top of the printed QR."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from register_agent.common.events import EventBus
from register_agent.config import ApiConfig, OutboxConfig, ReceiptConfig, TillConfig
from register_agent.counter.health import TillHealth
from register_agent.counter.messages import SaleRequest
from register_agent.journal import Journal
from register_agent.loyalty import make_loyalty
from register_agent.passthrough.desk import PassthroughDesk
from register_agent.readers.scans import Scan
from register_agent.till.sale import Till
from tests.conftest import Sandbox

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_retry_waits")]
JAN_CARD = "A1B2C3D4"
MakeTill = Callable[[str], Till]


@pytest.fixture
async def make_till(sandbox_clean: Sandbox, tmp_path: Path) -> AsyncIterator[MakeTill]:
    opened: list[tuple[Journal, Any]] = []

    def build(version: str) -> Till:
        journal = Journal.open(tmp_path / f"journal-{len(opened)}.sqlite3")
        loyalty = make_loyalty(
            ApiConfig(
                version=version,
                base_url=sandbox_clean.url,
                api_key=sandbox_clean.v1_key if version == "v1" else sandbox_clean.v3_key,
                loyalty_token_secret="sandbox-token-secret",
                loyalty_token_base_url=sandbox_clean.url,
            )
        )
        opened.append((journal, loyalty))
        return Till(
            journal=journal,
            loyalty=loyalty,
            events=EventBus(),
            till=TillConfig(receipt_wait_s=0.05),
            receipt=ReceiptConfig(),
            health=TillHealth(journal, OutboxConfig()),
        )

    yield build
    for journal, loyalty in opened:
        await loyalty.aclose()
        journal.close()


def sale(sale_id: str) -> SaleRequest:
    return SaleRequest(sale_id=sale_id, amount=Decimal("12.50"), print_receipt=False)


async def at_once(till: Till, request: SaleRequest) -> Any:
    return await asyncio.to_thread(till.sale_at_once, request)  # the relay's own thread


async def test_a_card_scanned_after_the_decision_is_left_for_the_next_sale(
    make_till: MakeTill,
) -> None:
    till = make_till("v3")
    await till.sell(sale("warm-up"))  # the register's look-up: once, on the loop
    block = await at_once(till, sale("pt-1"))
    assert block is not None
    assert block.state == "qr"
    assert block.qr_url is not None

    await till.scanned(Scan(value=JAN_CARD, reader="counter", at=datetime.now(UTC), kind="loyalty"))
    answer = await till.sell(sale("pt-1"), decided=block)

    assert answer.loyalty == block  # what the receipt printed, kept as the sale's answer
    assert await till._journal.operations_of_sale("pt-1") == []  # no credit beside the QR
    customer = await till.current_customer()
    assert customer is not None  # still bound: the next sale's
    stored = await till._journal.sale("pt-1")
    assert stored is not None
    assert json.loads(json.dumps(stored.answer))["loyalty"]["qr_url"] == block.qr_url


async def test_nothing_is_decided_with_a_customer_waiting_or_a_sale_already_recorded(
    make_till: MakeTill,
) -> None:
    till = make_till("v3")
    await till.sell(sale("warm-up"))
    await till.scanned(Scan(value=JAN_CARD, reader="counter", at=datetime.now(UTC), kind="loyalty"))
    assert await at_once(till, sale("pt-2")) is None  # the card's sale: the loop's path
    credited = await till.sell(sale("pt-2"))
    assert credited.loyalty.state in ("pending", "credited")
    # the same receipt again, the card gone: its first answer, never a QR on top
    assert await at_once(till, sale("pt-2")) is None
    assert (await till.sell(sale("pt-2"))).loyalty == credited.loyalty


async def test_v1_and_a_register_not_known_yet_leave_it_to_the_loop(make_till: MakeTill) -> None:
    assert await at_once(make_till("v1"), sale("pt-3")) is None  # staged through the API
    assert await at_once(make_till("v3"), sale("pt-4")) is None  # its register not learnt yet


async def test_the_same_receipt_again_before_its_record_gets_the_same_qr_and_no_card(
    make_till: MakeTill,
) -> None:
    """Two copies of one receipt (a resend, or a burst) while the first copy's record has
    not reached the loop yet, and a card scanned in between: both copies print the QR the
    first was decided with, and the card is neither credited for this sale nor taken."""
    till = make_till("v3")
    await till.sell(sale("warm-up"))
    desk = PassthroughDesk(till, currency="EUR", language="en", stages_online=False)
    loop = asyncio.get_running_loop()
    first = await asyncio.to_thread(desk.at_once, sale("pt-5"), loop)
    assert first is not None
    await till.scanned(Scan(value=JAN_CARD, reader="counter", at=datetime.now(UTC), kind="loyalty"))
    again = await asyncio.to_thread(desk.at_once, sale("pt-5"), loop)
    assert again is not None, "the second copy went the loop's way: the card would be taken"
    assert again[0] == first[0]

    first[1]()  # each copy printed: its record goes to the loop
    again[1]()
    async with asyncio.timeout(10):
        while len(desk._recorded) < 2:
            await asyncio.sleep(0.01)

    assert await till._journal.operations_of_sale("pt-5") == []  # no credit beside the QR
    assert await till.current_customer() is not None  # the card waits for the next sale
    stored = await till._journal.sale("pt-5")
    assert stored is not None
    assert json.loads(json.dumps(stored.answer))["loyalty"]["qr_url"] == first[0].qr_url
