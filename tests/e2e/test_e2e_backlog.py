"""End to end, the customer at the counter while a backlog drains: the real agent process
comes back from an outage with hundreds of queued credits of other customers, and a sale
with a card made then is credited within the answer's wait, not after the backlog
(``journal/due.py``: behind a backlog, the newest sales first; each customer's own
operations still in order). Judged on the sale's answer, the sandbox's ledger and the
journal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess, wait_for
from tests.support.ports import free_port

BACKLOG_CARDS = ("B2C3D4E5", "C3D4E5F6", "04A2241A6B5E80")
COUNTER_CARD = "A1B2C3D4"  # a customer with nothing in the backlog
QUEUED = 300
LANES = "register_agent_outbox_backlog_lanes"


@pytest.fixture
def agent(sandbox_clean: Sandbox, tmp_path: Path) -> Iterator[AgentProcess]:
    # fewer customers served side by side than the backlog has: each free place goes to
    # the oldest waiting customer unless the newest sale comes first
    till = AgentProcess(
        tmp_path, sandbox_clean, "v3", receipt_wait_s=2.0, prints="pos", concurrency=2
    )
    try:
        yield till.start()
    finally:
        till.close()


def done(agent: AgentProcess) -> int:
    return sum(op["state"] == "done" for op in agent.journal_rows("operations"))


def test_a_sale_made_while_a_backlog_drains_is_credited_within_the_wait(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    sandbox_clean.set_fault(mode="error_503", rate=1.0, paths=["/api/v3"], methods=["POST"])
    for number in range(QUEUED):
        card = BACKLOG_CARDS[number % len(BACKLOG_CARDS)]
        agent.sell(f"Q-{number}", "10.00", customer_card=card).raise_for_status()
    sandbox_clean.clear_faults()
    # the API answers again: the till hears it from the outbox's first delivery
    wait_for(lambda: done(agent) > 0, 30, "the first queued credit")

    answer = agent.sell("AT-COUNTER", "10.00", customer_card=COUNTER_CARD)

    loyalty = answer.raise_for_status().json()["loyalty"]
    assert (loyalty["state"], loyalty["credits"]) == ("credited", 10), loyalty
    assert done(agent) < QUEUED, "the backlog had drained: queue more for this test to tell"
    agent.drain(120)
    ledger = [row for row in sandbox_clean.ledger() if row["kind"] == "credit_reception"]
    assert len(ledger) == QUEUED + 1  # each sale credited once


def test_over_a_slow_network_the_backlog_is_sent_four_customers_at_once(
    sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    """The Register API answers each change after 100 ms: a backlog delivery waits on the
    network, not on the till, so the backlog's room grows to the outbox's concurrency (the
    default four), the metrics say so, and the sandbox sees four of the agent's changes
    arrive within one answer's wait. Each sale is credited once."""
    port = free_port()
    till = AgentProcess(tmp_path, sandbox_clean, "v3", prints="pos")
    till.extra_env["REGISTER_AGENT_LOCAL_API__METRICS_LISTEN"] = f"127.0.0.1:{port}"
    try:
        till.start()
        sandbox_clean.set_fault(mode="error_503", rate=1.0, paths=["/api/v3"], methods=["POST"])
        cards = (COUNTER_CARD, *BACKLOG_CARDS)
        for number in range(100):
            card = cards[number % len(cards)]
            till.sell(f"SLOW-{number}", "10.00", customer_card=card).raise_for_status()
        sandbox_clean.clear_faults()
        sandbox_clean.set_fault(
            mode="latency", rate=1.0, latency_ms=100, paths=["/api/v3"], methods=["POST"]
        )

        def lanes() -> str:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            return next(line for line in text.splitlines() if line.startswith(LANES))

        wait_for(lambda: lanes() == f"{LANES} 4.0", 60, "four backlog lanes")
        wait_for(lambda: done(till) == 100, 60, "the backlog delivered")
    finally:
        till.close()
    ledger = [row for row in sandbox_clean.ledger() if row["kind"] == "credit_reception"]
    assert sorted(row["amount"] for row in ledger) == ["10.00"] * 100  # each sale once
    # each lane has one change (its POS transaction, then its credits) at the sandbox at a
    # time: four arriving within less than one answer's wait were in flight together
    held = sorted(row["at"] for row in sandbox_clean.requests() if row["fault"] == "latency")
    assert any(later - first < 0.1 for first, later in zip(held, held[3:], strict=False))
