"""Lost answers end to end, on a real agent process against the sandbox: one lost answer
does not make the Register API "unreachable", and the outbox never works one operation
twice at once after a restart."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import httpx

from tests.conftest import Sandbox
from tests.support.ops_support import (
    AgentProcess,
    journal_rows,
    wait_for,
    write_config,
)

JAN_CARD = "A1B2C3D4"
COFFEE = {"v3": "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f", "v1": "physical:301"}
CLAIMS_PATH = {"v3": "/api/v3/register/reward-receptions", "v1": "/api/v1/register/rewards/"}


def start(tmp_path: Path, sandbox: Sandbox, version: str, **env: str) -> AgentProcess:
    config = write_config(tmp_path / "till", base_url=sandbox.url, version=version)
    key = sandbox.v3_key if version == "v3" else sandbox.v1_key
    return AgentProcess(config, key, env=env or None)


def claim(agent: AgentProcess, claim_id: str, version: str) -> httpx.Response:
    body = {"claim_id": claim_id, "reward_key": COFFEE[version], "customer_card": JAN_CARD}
    return agent.http.post("/v1/rewards/claims", json=body)


def lose_next_claim_answer(sandbox: Sandbox, version: str, mode: str = "drop_after_commit") -> None:
    sandbox.set_fault(mode=mode, count=1, methods=["POST"], paths=[CLAIMS_PATH[version]], hold_s=3)


def test_one_lost_answer_does_not_make_the_api_unreachable(
    tmp_path: Path, sandbox_clean: Sandbox
) -> None:
    agent = start(tmp_path, sandbox_clean, "v3")
    try:
        agent.sell("S-1", "5.00", JAN_CARD)  # the API answers: reachable
        assert agent.http.get("/v1/status").json()["register_api"] == "reachable"
        lose_next_claim_answer(sandbox_clean, "v3")
        assert claim(agent, "C-1", "v3").json()["code"] == "claim_not_confirmed"
        # the request reached the API and only its answer was lost: not "unreachable"
        assert agent.http.get("/v1/status").json()["register_api"] == "reachable"
    finally:
        agent.stop()


def test_after_a_restart_one_operation_is_reconciled_once(
    tmp_path: Path, sandbox_clean: Sandbox
) -> None:
    config = write_config(tmp_path / "till", base_url=sandbox_clean.url, version="v3")
    dying = AgentProcess(
        config, sandbox_clean.v3_key, env={"REGISTER_AGENT_CRASH_AT": "after_send"}
    )
    with contextlib.suppress(httpx.TransportError, AssertionError):
        dying.sell("S-1", "12.00", JAN_CARD)  # credited, then the agent dies at once
    assert dying.process.wait(10) == 137
    dying.stop()
    reads_before = transaction_reads(sandbox_clean)

    # the outbox waits a moment after each read of what is due: an operation that ends
    # inside that window must not be started again from the read that still shows it due
    pause = {"REGISTER_AGENT_PAUSE_AT": "outbox_due_read", "REGISTER_AGENT_PAUSE_S": "1.0"}
    agent = AgentProcess(config, sandbox_clean.v3_key, env=pause)
    try:
        wait_for(
            lambda: journal_rows(config, "SELECT state FROM operations") == [("done",)],
            15,
            "the operation reconciled",
        )
        time.sleep(3.0)  # three more turns of the outbox, each after a paused read
        assert transaction_reads(sandbox_clean) - reads_before == 1
        assert "is not unknown any more" not in agent.log.read_text()
    finally:
        agent.stop()
    credits = [row for row in sandbox_clean.ledger() if row["kind"] == "credit_reception"]
    assert len(credits) == 1


def transaction_reads(sandbox: Sandbox) -> int:
    return sum(
        1
        for request in sandbox.requests()
        if request["method"] == "GET" and "/loyalty-transactions" in request["path"]
    )
