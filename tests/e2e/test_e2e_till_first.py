"""End to end, the outbox gives way to the till (``outbox/till_first.py``): on a real agent
process draining a backlog, a sale being answered has no backlog delivery started beside
it (those in flight when it arrived finish; its own credit is delivered), and a till that
sells without a pause still drains its backlog. Judged on the sandbox's ledger (the order
in which the Register API applied things) and the journal, never on a time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from register_agent.common.test_hooks import HANG_ENV
from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess, wait_for

BACKLOG_CARDS = ("B2C3D4E5", "C3D4E5F6", "04A2241A6B5E80")
COUNTER_CARD = "A1B2C3D4"  # a customer with nothing in the backlog
CONCURRENCY = 2
FIND = "/api/v3/register/contact-identifiers/find"


@pytest.fixture
def agent(sandbox_clean: Sandbox, tmp_path: Path) -> Iterator[AgentProcess]:
    till = AgentProcess(
        tmp_path, sandbox_clean, "v3", receipt_wait_s=0.3, prints="pos", concurrency=CONCURRENCY
    )
    try:
        yield till
    finally:
        till.close()


def with_backlog(agent: AgentProcess, count: int) -> AgentProcess:
    """The agent started again with ``count`` card sales of the backlog's customers queued.

    They are queued while its outbox hangs (a test hook), not during an outage: the API
    answers, so each sale's card is looked up when it is made and its delivery needs no
    look-up; the only look-up the API sees afterwards is the counter sale's. Started again,
    the counter's card look-up can be held by the sandbox until the test lets it go: its
    deadline and read timeout are long, so the test, not a timeout, ends it.
    """
    agent.extra_env[HANG_ENV] = "outbox"
    agent.start()
    for number in range(count):
        card = BACKLOG_CARDS[number % len(BACKLOG_CARDS)]
        agent.sell(f"Q-{number}", "10.00", customer_card=card).raise_for_status()
    agent.stop()
    del agent.extra_env[HANG_ENV]
    config = agent.config_path.read_text(encoding="utf-8")
    for old, new in (
        ("counter_deadline_s = 1.0", "counter_deadline_s = 10.0"),
        ("read_timeout_s = 2.0", "read_timeout_s = 10.0"),
        ("receipt_wait_s = 0.3", "receipt_wait_s = 10.0"),
    ):
        assert old in config, old
        config = config.replace(old, new)
    agent.config_path.write_text(config, encoding="utf-8")
    return agent.start()


def credits(ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in ledger if row["kind"] == "credit_reception"]


def finds(sandbox: Sandbox) -> int:
    return sum(row["path"] == FIND for row in sandbox.requests())


def done(agent: AgentProcess) -> int:
    return sum(op["state"] == "done" for op in agent.journal_rows("operations"))


def test_no_backlog_delivery_starts_while_a_sale_is_answered(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    queued = 30
    with_backlog(agent, queued)
    looked_up = finds(sandbox_clean)
    wait_for(lambda: done(agent) > CONCURRENCY, 30, "the backlog to drain")
    assert finds(sandbox_clean) == looked_up  # the backlog's deliveries look nobody up
    # the counter sale's card look-up (the backlog's customers are known: none of theirs)
    sandbox_clean.set_fault(
        mode="latency", latency_ms=60_000, count=1, paths=[FIND], methods=["GET"]
    )
    answers: list[httpx.Response] = []
    counter = threading.Thread(
        target=lambda: answers.append(agent.sell("AT-COUNTER", "10.00", customer_card=COUNTER_CARD))
    )
    counter.start()
    try:
        wait_for(
            lambda: any(row["fault"] == "latency" for row in sandbox_clean.requests()),
            10,
            "the counter sale's card look-up to reach the API",
        )
        before = len(sandbox_clean.ledger())  # the sale is being answered from here on

        def at_rest_or_going_on() -> bool:
            ledger = sandbox_clean.ledger()
            kinds = [row["kind"] for row in ledger]
            if len(credits(ledger[before:])) > CONCURRENCY:
                return True  # deliveries go on beside the sale: the assertion below tells
            in_flight = [
                op for op in agent.journal_rows("operations") if op["state"] == "in_flight"
            ]
            return not in_flight and kinds.count("pos_transaction") == kinds.count(
                "credit_reception"
            )

        # the deliveries in flight when the sale arrived end; with the sale still held, a
        # delivery the outbox started beside it would show in the ledger meanwhile
        wait_for(at_rest_or_going_on, 20, "the backlog's deliveries in flight to end")
    finally:
        sandbox_clean.clear_faults()  # the look-up goes on
        counter.join(30)

    loyalty = answers[0].raise_for_status().json()["loyalty"]
    assert (loyalty["state"], loyalty["credits"]) == ("credited", 10), loyalty
    assert done(agent) < queued, "the backlog had drained: queue more for this test to tell"
    agent.drain(120)
    ledger = sandbox_clean.ledger()
    assert len(credits(ledger)) == queued + 1  # each sale credited once
    # the counter's customer is the one credited once (the backlog's, ten times each)
    members = [row["member"]["uuid"] for row in credits(ledger)]
    counter_member = next(member for member in members if members.count(member) == 1)
    window = [row["member"]["uuid"] for row in credits(ledger[before:])]
    # between the sale's arrival and its own credit, only the deliveries already in flight
    own = window.index(counter_member)
    assert own <= CONCURRENCY, f"{own} backlog credits were applied while the sale was answered"


def test_a_till_selling_without_a_pause_still_drains_its_backlog(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    queued = 20
    # the API refuses the backlog's POS transactions until the sales are under way, so the
    # backlog is still there when the till gets busy (not drained in the quiet start)
    sandbox_clean.set_fault(mode="error_503", paths=["/api/v3/register/pos-transactions"])
    with_backlog(agent, queued)
    drained = threading.Event()
    answered: list[int] = []

    def sell(lane: int) -> None:
        # two lanes, so that the till is nearly always answering a sale: only the bound on
        # the yield lets the backlog through
        number = 0
        with httpx.Client(base_url=agent.url, headers=agent.http.headers, timeout=10) as pos:
            while not drained.is_set():
                body = {"sale_id": f"L{lane}-{number}", "amount": "3.00", "lines": []}
                answered.append(pos.post("/v1/sales", json=body).status_code)
                number += 1

    lanes = [threading.Thread(target=sell, args=(lane,)) for lane in range(2)]
    for lane in lanes:
        lane.start()
    try:
        wait_for(lambda: len(answered) >= 20, 30, "the lanes selling")
        sandbox_clean.clear_faults()
        assert done(agent) == 0  # nothing of the backlog went through while it was refused
        # no quiet second from here on: the backlog drains only through the bound on the
        # yield (after LONGEST_HOLD_S, one delivery per sale answered)
        wait_for(lambda: done(agent) == queued, 120, "the backlog to drain beside the sales", 0.2)
        selling = [lane.is_alive() for lane in lanes]
    finally:
        drained.set()
        for lane in lanes:
            lane.join(30)

    assert selling == [True, True]  # both lanes sold until the backlog was done
    assert set(answered) == {200}
    ledger = credits(sandbox_clean.ledger())
    assert len(ledger) == queued  # each queued sale credited once, the plain sales none
