"""Reward claims whose answer was lost, end to end: a real agent process against the
sandbox, whose faults lose the answer (after the claim was made, or before). The claim
becomes a ``reward_claim`` operation: found among the customer's loyalty transactions
(v3), or decided by a person in ``register-agent review``; the claim id then answers it.
Also: the outbox never works one operation twice at once after a restart.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.ops_support import AgentProcess, cli, journal_rows, wait_for, write_config
from tests.support.ports import free_port

JAN_CARD, JAN_UUID = "A1B2C3D4", "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
COFFEE = {"v3": "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f", "v1": "physical:301"}
#: a digital reward on v3: its reception is a ``digital_reward_reception``, as documented
CROISSANT_V3 = "91b5e207-4c6f-4e80-b1a2-cd3e4f506172"
CLAIMS_PATH = {"v3": "/api/v3/register/reward-receptions", "v1": "/api/v1/register/rewards/"}


def start(tmp_path: Path, sandbox: Sandbox, version: str, **env: str) -> AgentProcess:
    config = write_config(tmp_path / "till", base_url=sandbox.url, version=version)
    key = sandbox.v3_key if version == "v3" else sandbox.v1_key
    return AgentProcess(config, key, env=env or None)


def claim(
    agent: AgentProcess, claim_id: str, version: str, reward: str | None = None
) -> httpx.Response:
    body = {
        "claim_id": claim_id,
        "reward_key": reward or COFFEE[version],
        "customer_card": JAN_CARD,
    }
    return agent.http.post("/v1/rewards/claims", json=body)


def claimed(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == "reward_reception"]


def claim_state(agent: AgentProcess, claim_id: str) -> str:
    rows = journal_rows(
        agent.config, "SELECT state FROM reward_claims WHERE claim_id = ?", (claim_id,)
    )
    return str(rows[0][0])


def lost_claims(agent: AgentProcess) -> dict[str, int]:
    """The figures a storm test reads: the reward_claim operations by state."""
    rows = journal_rows(
        agent.config,
        "SELECT state, COUNT(*) FROM operations WHERE kind = 'reward_claim' GROUP BY state",
    )
    return {str(state): int(count) for state, count in rows}


def lose_next_claim_answer(sandbox: Sandbox, version: str, mode: str = "drop_after_commit") -> None:
    """The next claim's answer never arrives; "latency" makes it past the counter deadline
    (2 s) and "timeout" drops it unmade after 3 s; the others make it, then fail."""
    sandbox.set_fault(
        mode=mode,
        count=1,
        methods=["POST"],
        paths=[CLAIMS_PATH[version]],
        hold_s=3,
        latency_ms=3000,
    )


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


@pytest.mark.parametrize("mode", ["drop_after_commit", "error_500_after_commit", "latency"])
def test_lost_claim_is_found_and_its_id_answers_the_claim(
    tmp_path: Path, sandbox_clean: Sandbox, mode: str
) -> None:
    agent = start(tmp_path, sandbox_clean, "v3")
    try:
        lose_next_claim_answer(sandbox_clean, "v3", mode)  # made, but the answer is lost
        first = claim(agent, "C-1", "v3")
        assert first.status_code == 409
        assert first.json()["code"] == "claim_not_confirmed"

        wait_for(lambda: claim_state(agent, "C-1") == "done", 15, "the claim to be found")
        again = claim(agent, "C-1", "v3")  # the POS asks again under the same claim id
        assert again.status_code == 200, again.text
        answer = again.json()
        assert (answer["title"], answer["credits"], answer["balance"]) == ("Free coffee", -50, 100)
        assert len(claimed(sandbox_clean)) == 1  # claimed once, never sent again
        assert lost_claims(agent) == {"done": 1}
        status = agent.http.get("/v1/status").json()
        assert (status["claims_unconfirmed"], status["claims_review"]) == (0, 0)
    finally:
        agent.stop()


def test_a_lost_claim_of_a_digital_reward_is_found_and_not_made_twice(
    tmp_path: Path, sandbox_clean: Sandbox
) -> None:
    """A digital reward's reception is listed as ``digital_reward_reception`` (the vendor's
    documented type): reconciliation finds it as the claim's, rather than judging the
    claim not made and letting the POS charge the customer for it again."""
    agent = start(tmp_path, sandbox_clean, "v3")
    try:
        lose_next_claim_answer(sandbox_clean, "v3")
        assert claim(agent, "C-D", "v3", CROISSANT_V3).json()["code"] == "claim_not_confirmed"
        wait_for(lambda: lost_claims(agent) != {"unknown": 1}, 15, "the claim to be looked for")
        assert lost_claims(agent) == {"done": 1}
        assert claim_state(agent, "C-D") == "done"
        again = claim(agent, "C-D", "v3", CROISSANT_V3)
        assert again.status_code == 200, again.text
        assert again.json()["credits"] == -25
        assert len(claimed(sandbox_clean)) == 1
    finally:
        agent.stop()


def test_ambiguous_claim_goes_to_review_and_the_decision_answers_it(
    tmp_path: Path, sandbox_clean: Sandbox, v3: httpx.Client
) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "till", base_url=sandbox_clean.url, version="v3", metrics_port=port
    )
    agent = AgentProcess(config, sandbox_clean.v3_key)
    try:
        # the same reward for the same customer, claimed at another till a moment before
        form = {"contact_uuid": JAN_UUID, "reward_uuid": COFFEE["v3"]}
        v3.post("/reward-receptions", data=form).raise_for_status()
        lose_next_claim_answer(sandbox_clean, "v3")
        assert claim(agent, "C-2", "v3").json()["code"] == "claim_not_confirmed"

        # two receptions of the coffee since the attempt: which is ours cannot be told
        wait_for(lambda: lost_claims(agent) == {"review": 1}, 15, "the claim in review")
        status = agent.http.get("/v1/status").json()
        assert (status["claims_unconfirmed"], status["claims_review"]) == (0, 1)
        assert any("reward claims" in alert for alert in status["alerts"]), status
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'register_agent_reward_claims_lost{state="review"} 1.0' in metrics
        assert claim(agent, "C-2", "v3").json()["code"] == "claim_not_confirmed"

        listing = cli(config, "review")
        assert "claim C-2" in listing
        assert "reward_claim" in listing
        (operation,) = journal_rows(config, "SELECT id FROM operations WHERE state = 'review'")
        cli(config, "review", "--applied", operation[0])  # the dashboard shows both
        again = claim(agent, "C-2", "v3")
        assert again.status_code == 200, again.text
        assert again.json()["claim_id"] == "C-2"
        assert lost_claims(agent) == {"done": 1}
        assert len(claimed(sandbox_clean)) == 2  # the other till's and ours, nothing more
    finally:
        agent.stop()


def test_v1_lost_claim_is_reviewed_and_not_applied_lets_the_pos_claim_again(
    tmp_path: Path, sandbox_clean: Sandbox
) -> None:
    agent = start(tmp_path, sandbox_clean, "v1")
    try:
        # the API holds the claim past the counter's deadline, then drops it unapplied
        lose_next_claim_answer(sandbox_clean, "v1", mode="timeout")
        assert claim(agent, "C-3", "v1").json()["code"] == "claim_not_confirmed"
        wait_for(lambda: lost_claims(agent) == {"review": 1}, 15, "the claim in review")
        assert "claim C-3" in cli(agent.config, "review")

        (operation,) = journal_rows(
            agent.config, "SELECT id FROM operations WHERE state = 'review'"
        )
        cli(agent.config, "review", "--resend", operation[0])  # the dashboard shows none
        wait_for(lambda: claim_state(agent, "C-3") == "refused", 15, "the decision")
        assert claimed(sandbox_clean) == []  # deciding sent nothing
        again = claim(agent, "C-3", "v1")  # the POS claims again under the same id
        assert again.status_code == 200, again.text
        assert again.json()["credits"] == -50
        assert len(claimed(sandbox_clean)) == 1
        assert lost_claims(agent) == {"done": 1}
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


def test_claim_in_flight_at_a_power_cut_is_found_after_the_restart(
    tmp_path: Path, sandbox_clean: Sandbox
) -> None:
    config = write_config(tmp_path / "till", base_url=sandbox_clean.url, version="v3")
    agent = AgentProcess(config, sandbox_clean.v3_key)
    # the API takes its time over the claim, and makes it; the till dies meanwhile
    sandbox_clean.set_fault(
        mode="latency", latency_ms=3000, count=1, methods=["POST"], paths=[CLAIMS_PATH["v3"]]
    )
    with ThreadPoolExecutor(1) as pos:
        asked = pos.submit(claim, agent, "C-4", "v3")
        wait_for(lambda: claim_sent(sandbox_clean), 10, "the claim on its way")
        agent.process.kill()
        agent.process.wait(5)
        with contextlib.suppress(httpx.TransportError):
            asked.result()
    agent.stop()
    assert claim_state(agent, "C-4") == "in_flight"

    agent = AgentProcess(config, sandbox_clean.v3_key)
    try:
        wait_for(lambda: claim_state(agent, "C-4") == "done", 15, "the claim to be found")
        again = claim(agent, "C-4", "v3")
        assert again.status_code == 200, again.text
        assert again.json()["credits"] == -50
        assert len(claimed(sandbox_clean)) == 1
    finally:
        agent.stop()


def claim_sent(sandbox: Sandbox) -> bool:
    return any(
        request["method"] == "POST" and request["path"].endswith("/reward-receptions")
        for request in sandbox.requests()
    )
