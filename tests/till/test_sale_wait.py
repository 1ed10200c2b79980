"""The till's bounded wait for a sale's credits ends when the outbox says the operation
settled (its ``Settled`` signal), not at the end of ``receipt_wait_s``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from register_agent.common.events import EventBus
from register_agent.config import ApiConfig, OutboxConfig, ReceiptConfig, TillConfig
from register_agent.counter.health import TillHealth
from register_agent.journal import Journal, Operation
from register_agent.loyalty import make_loyalty
from register_agent.outbox.handlers import make_handlers
from register_agent.outbox.worker import Outbox
from register_agent.till.sale import Till
from tests.conftest import Sandbox
from tests.support.settled_watch import WatchedSettled
from tests.till.test_till import JAN_CARD, sale

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_retry_waits"), pytest.mark.timeout(30)]
WAIT_S = 10.0  # the most the config allows: far longer than the credits take


async def test_the_answer_comes_when_the_outbox_settles_the_credits(
    sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    journal = Journal.open(tmp_path / "journal.sqlite3")
    loyalty = make_loyalty(
        ApiConfig(
            version="v3",
            base_url=sandbox_clean.url,
            api_key=sandbox_clean.v3_key,
            loyalty_token_secret="sandbox-token-secret",
            loyalty_token_base_url=sandbox_clean.url,
        )
    )
    settled = WatchedSettled()

    async def told(operation: Operation) -> None:
        settled.notify(operation)

    outbox = Outbox(journal, make_handlers(loyalty.service, journal), on_settled=told)
    till = Till(
        journal=journal,
        loyalty=loyalty,
        events=EventBus(),
        till=TillConfig(receipt_wait_s=WAIT_S),
        receipt=ReceiptConfig(),
        health=TillHealth(journal, OutboxConfig()),
        wake_outbox=outbox.wake,
        settled=settled,
    )
    delivering = asyncio.create_task(outbox.run())
    try:
        answer = await till.sell(sale("W-1", customer_card=JAN_CARD))
    finally:
        delivering.cancel()
        await asyncio.gather(delivering, return_exceptions=True)
        await loyalty.aclose()
        journal.close()
    assert answer.loyalty.state == "credited"
    assert (answer.loyalty.credits, answer.loyalty.balance) == (12, 162)
    assert settled.ended == [True]  # the wait ended as the outbox told, not at its end
