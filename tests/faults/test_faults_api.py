"""The Register API misbehaving at the real agent (fault suite): ``Retry-After`` honoured to
the second, a 4xx never sent again (v3 and v1), and a 503 storm that does not multiply the
agent's requests. Measured on the sandbox's side from its request log (GET
/_sandbox/requests). The 401 pause and the reload that resumes it are in
tests/e2e/test_service_life.py (``test_a_new_key_on_reload_resumes_paused_sending``).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from register_agent.loyalty.retries import MAX_ATTEMPTS
from tests.conftest import Sandbox
from tests.support.agent_harness import (
    MEMBERS,
    AgentProcess,
    Sold,
    credits_by_sale,
    unique_amount,
    wait_for,
)
from tests.support.fault_support import tune
from tests.support.figures import note

pytestmark = pytest.mark.faults

#: backoff as a till would have it, only shorter: long enough that multiplying requests
#: would show, short enough for the suite
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 8.0
CREDITS = "/api/v3/register/credit-receptions"
POS_TRANSACTIONS = "/api/v3/register/pos-transactions"


def _agent(sandbox: Sandbox, home: Path, version: str) -> Iterator[AgentProcess]:
    till = AgentProcess(home, sandbox, version, receipt_wait_s=0)
    tune(till, backoff_base_s=BACKOFF_BASE_S, backoff_max_s=BACKOFF_MAX_S)
    try:
        yield till.start()
    finally:
        till.close()


@pytest.fixture(scope="module")
def agent(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    """One v3 agent for the module (a start costs ~1 s); each test resets the sandbox."""
    yield from _agent(sandbox, tmp_path_factory.mktemp("till"), "v3")


@pytest.fixture(scope="module")
def agent_v1(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    yield from _agent(sandbox, tmp_path_factory.mktemp("till-v1"), "v1")


def requests_to(sandbox: Sandbox, path: str, since: float = 0.0) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests() if r["path"].startswith(path) and r["at"] >= since]


@pytest.mark.parametrize("retry_after", [2, 4])
def test_retry_after_is_honoured_to_the_second(
    retry_after: int, agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    """2 s fits the call's deadline (retried inline), 4 s does not (the outbox waits)."""
    sandbox_clean.set_fault(mode="error_429", count=1, retry_after=retry_after, paths=[CREDITS])
    sale_id = f"RA-{retry_after}"
    agent.sell(sale_id, "12.50", customer_card="A1B2C3D4").raise_for_status()
    if retry_after > 2:  # the outbox's wait: what it planned is in the journal, exactly
        (planned,) = wait_for(
            lambda: [
                op
                for op in agent.journal_rows("operations")
                if op["sale_id"] == sale_id and op["state"] == "pending" and op["last_error"]
            ],
            30,
            "the throttled credit back in the outbox",
        )
        # the next attempt planned Retry-After from the failure, not a backoff on top
        assert planned["next_attempt_at"] - planned["updated_at"] == pytest.approx(retry_after)
    agent.drain(retry_after + 30)

    throttled, credited = (r["at"] for r in requests_to(sandbox_clean, CREDITS))
    gap = credited - throttled
    note(f"retry-after {retry_after} s", next_attempt_after_s=gap, late_by_s=gap - retry_after)
    assert retry_after <= gap  # never before (the sandbox's own clock; how late is a figure)
    (operation,) = [op for op in agent.journal_rows("operations") if op["sale_id"] == sale_id]
    # 2 s: retried within the call's first attempt; 4 s: a second attempt by the outbox
    assert operation["attempts"] == (1 if retry_after == 2 else 2), operation
    (row,) = [r for r in sandbox_clean.ledger() if r["kind"] == "credit_reception"]
    assert row["credits"] == 12


#: the first POST of a sale's credits: v3 opens a POS transaction, v1 credits at once
FIRST_POST = {"v3": POS_TRANSACTIONS, "v1": "/api/v1/register/credit-receptions"}


@pytest.mark.parametrize("version", ["v3", "v1"])
def test_a_4xx_is_never_sent_again(
    version: str, request: pytest.FixtureRequest, sandbox_clean: Sandbox
) -> None:
    """A 1003 from the Register API is refused for good after one try. (A billion euros
    was the way to get one; the till refuses such a sale itself now, before recording it.)"""
    agent: AgentProcess = request.getfixturevalue("agent" if version == "v3" else "agent_v1")
    sale_id = f"REFUSED-{version}"
    sandbox_clean.set_fault(mode="error_1003", count=1, methods=["POST"])
    agent.sell(sale_id, "10.00", customer_card="A1B2C3D4").raise_for_status()
    dead: list[dict[str, Any]] = []

    def refused() -> bool:
        dead[:] = [
            op
            for op in agent.journal_rows("operations")
            if op["sale_id"] == sale_id and op["state"] == "dead"
        ]
        return bool(dead)

    assert_eventually(refused, 30)
    time.sleep(2 * BACKOFF_MAX_S / 4)  # well past the first backoff: nothing comes again
    posts = [r for r in sandbox_clean.requests() if r["method"] == "POST"]
    note(
        f"4xx (1003) {version}",
        posts=len(posts),
        state=dead[0]["state"],
        attempts=dead[0]["attempts"],
    )
    assert [r["path"] for r in posts] == [FIRST_POST[version]]
    assert "1003" in dead[0]["last_error"]
    assert dead[0]["attempts"] == 1
    assert [r for r in sandbox_clean.ledger() if r["kind"] == "credit_reception"] == []


def assert_eventually(check: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def attempts_bound(window_s: float) -> int:
    """The most attempts one operation can make in ``window_s``: each wait is at least half
    of min(max, base * 2^(n-1)) (full jitter over the upper half, outbox.backoff_delay)."""
    attempts, waited = 1, 0.0
    while True:
        wait = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempts - 1)) / 2
        if waited + wait > window_s:
            return attempts
        waited += wait
        attempts += 1


STORM_S = 20.0
STORM_SALES = 20


def test_a_503_storm_does_not_multiply_requests(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    cards = list(MEMBERS)
    sandbox_clean.set_fault(mode="error_503", paths=["/api/"])
    started = time.time()
    book = []
    for index in range(STORM_SALES):
        sold = Sold(f"STORM-{index:02d}", unique_amount(index), cards[index % len(cards)])
        answered = time.monotonic()
        sold.answer = agent.sell(sold.sale_id, sold.amount, customer_card=sold.card).json()
        sold.seconds = time.monotonic() - answered
        book.append(sold)
    sold_at = time.time()
    time.sleep(max(0.0, STORM_S - (sold_at - started)))
    sandbox_clean.clear_faults()
    storm = [r for r in sandbox_clean.requests() if r["fault"] == "error_503"]
    cleared = time.monotonic()
    agent.drain(3 * BACKOFF_MAX_S)
    drain_s = time.monotonic() - cleared

    elapsed = max(r["at"] for r in storm) - started
    # the counter's look-ups (one call per sale, inline-retried), and per customer one
    # operation at a time (the head of its queue), each attempt one call inline-retried
    bound = MAX_ATTEMPTS * (STORM_SALES + len(cards) * attempts_bound(elapsed))
    # once the sales are made only the outbox asks: per minute, within the same bound
    window = elapsed - (sold_at - started)
    outbox = [r for r in storm if r["at"] >= sold_at]
    outbox_bound = MAX_ATTEMPTS * len(cards) * attempts_bound(window)
    per_route = Counter(re.sub(r"/[0-9a-fA-F-]{8,}|/[A-F0-9]{8,}", "/…", r["path"]) for r in storm)
    found = credits_by_sale(sandbox_clean.ledger(), book)
    note(
        "503 storm",
        sales=STORM_SALES,
        customers=len(cards),
        storm_s=elapsed,
        requests=len(storm),
        bound=bound,
        outbox_requests_per_min=len(outbox) / window * 60,
        outbox_bound_per_min=outbox_bound / window * 60,
        long_storm_bound_per_min=MAX_ATTEMPTS * len(cards) * 60 / (BACKOFF_MAX_S / 2),
        slowest_answer_s=max(s.seconds or 0 for s in book),
        drain_s=drain_s,
        lost=sum(1 for seqs in found.values() if not seqs),
        duplicated=sum(1 for seqs in found.values() if len(seqs) > 1),
        routes=dict(per_route),
    )
    assert len(storm) <= bound, per_route
    assert len(outbox) <= outbox_bound, per_route
    assert all(len(seqs) == 1 for seqs in found.values()), found
    # each sale was answered during the storm without its credits (the answer did not wait
    # for the outbox's retries); how long each took is the figure above
    assert [s.answer["loyalty"]["state"] if s.answer else None for s in book] == ["pending"] * len(
        book
    )
