"""End to end, the scan's two events: the real agent process, a pty card reader and the
sandbox (v3), whose balance and reward reads are held by a latency fault until the test
releases them, so what the POS hears before those reads come back is seen, not guessed:
``customer_identified`` first, then ``customer``, with which the customer is bound.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import TOKEN, AgentProcess, wait_for
from tests.support.event_stream import EventStream

JAN_CARD, MARIE_CARD = "A1B2C3D4", "B2C3D4E5"
#: the reads after the identifier: the contact (balance, attributes) and the rewards; held
#: for a minute, or until ``clear_faults`` lets them go on
HELD_READS = {
    "mode": "latency",
    "latency_ms": 60_000,
    "methods": ["GET"],
    "paths": [r"/api/v3/register/contacts/[0-9a-f-]+$", "/api/v3/register/rewards"],
}


@pytest.fixture(scope="module")
def agent(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    sandbox.reset()
    till = AgentProcess(tmp_path_factory.mktemp("scan-event"), sandbox, "v3", prints="pos")
    try:
        till.start()
        # the local API answers before the reader's port is open (opening it flushes the pty)
        wait_for(lambda: till.status()["readers"] == ["counter: ok"], 30, "the card reader")
        yield till
    finally:
        till.close()
        sandbox.reset()


def test_the_customer_is_identified_before_the_balance_and_rewards_are_read(
    agent: AgentProcess, sandbox: Sandbox
) -> None:
    agent.http.delete("/v1/customer").raise_for_status()
    with EventStream(agent.url, TOKEN) as events:
        sandbox.set_fault(**HELD_READS)
        agent.scan(JAN_CARD, wait=False)
        first = events.wait_for("customer_identified")
        # the reads are held: nothing of them can have come yet
        assert (first["display"], first["card_tail"]) == ("jan@example.org", "C3D4")
        assert (first["balance"], first["rewards"], first["offline"]) == (None, [], False)
        assert "customer" not in events.kinds()
        # told, not bound yet: GET /v1/customer (and a sale) mean "balance and rewards read"
        assert agent.http.get("/v1/customer").status_code == 204
        sandbox.clear_faults()
        full = events.wait_for("customer")
        assert (full["display"], full["card_tail"], full["balance"]) == (
            "jan@example.org",
            "C3D4",
            150,
        )
        assert any(reward["title"] == "Free coffee" for reward in full["rewards"])
        kinds = events.kinds()
        assert kinds.index("scan") < kinds.index("customer_identified") < kinds.index("customer")
    assert agent.http.get("/v1/customer").raise_for_status().json()["balance"] == 150


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to keep to")
def test_every_thread_of_the_agent_runs_on_one_cpu(agent: AgentProcess) -> None:
    # [process] cpu = "one", the default: the loop, the journal's writer and reader and
    # the server's threads hand the interpreter's lock over on one CPU, not across cores
    assert agent.process is not None
    tasks = Path(f"/proc/{agent.process.pid}/task")
    allowed = set()
    for task in tasks.iterdir():
        status = (task / "status").read_text(encoding="ascii")
        allowed |= {
            line.split()[1] for line in status.splitlines() if line.startswith("Cpus_allowed_list")
        }
    assert len(list(tasks.iterdir())) > 3  # the loop and its helper threads, all read
    assert len(allowed) == 1
    assert allowed.pop().isdigit()  # one CPU, not a range such as "0-1"
