"""Rewards on v3 read where the vendor's docs put them, end to end: a real ``register-agent
run`` process, the sandbox answering reward receptions as documented (the whole reward with
its attributes under ``reward``; a digital reward's ``digital_reward_reception`` with its
``digital_reward_code``) and the TCP virtual printer. A claim's answer carries the reward's
PLU (its ``external_property`` attribute) and a digital reward's code; the code is printed
on a claim slip of its own, once; the POS's reward list carries each reward's picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess, wait_for

pytestmark = pytest.mark.timeout(60)

JAN_CARD = "A1B2C3D4"
COFFEE = "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"  # physical, PLU-1001
CROISSANT = "91b5e207-4c6f-4e80-b1a2-cd3e4f506172"  # digital on v3, PLU-3003


@pytest.fixture(scope="module")
def agent(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    till = AgentProcess(tmp_path_factory.mktemp("rewards-v3"), sandbox, "v3", receipt_wait_s=1.5)
    try:
        yield till.start()
    finally:
        till.close()


def claim(agent: AgentProcess, claim_id: str, reward: str) -> httpx.Response:
    body = {"claim_id": claim_id, "reward_key": reward, "customer_card": JAN_CARD}
    return agent.http.post("/v1/rewards/claims", json=body)


def receptions(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == "reward_reception"]


def slips_with(agent: AgentProcess, needle: bytes) -> list[bytes]:
    return [job for job in agent.printer.printed() if needle in job]


def test_a_claimed_rewards_plu_comes_from_the_reward_itself(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    answer = claim(agent, "rw-coffee-1", COFFEE)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["title"], body["credits"], body["external_property"]) == (
        "Free coffee",
        -50,
        "PLU-1001",
    )
    assert (body["code"], body["slip_id"]) == (None, None)  # a physical reward: no code
    assert len(receptions(sandbox_clean)) == 1


def test_a_digital_rewards_code_reaches_the_pos_and_is_printed_once(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    answer = claim(agent, "rw-croissant-1", CROISSANT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["external_property"] == "PLU-3003"
    code = body["code"]
    assert isinstance(code, str), body
    # the code the sandbox handed out is the one answered (its reception's id)
    (reception,) = receptions(sandbox_clean)
    assert code == f"SANDBOX-{reception['id']}", reception

    slip = wait_for(lambda: slips_with(agent, code.encode()), 5, "the claim slip with the code")[0]
    assert b"Your reward: Croissant" in slip
    assert f"Your code: {code}".encode() in slip
    assert JAN_CARD.encode() not in slip

    again = claim(agent, "rw-croissant-1", CROISSANT)  # the POS's retry
    assert again.json() == body
    assert len(receptions(sandbox_clean)) == 1
    reprint = agent.http.post(f"/v1/sales/{body['slip_id']}/reprint")
    assert reprint.status_code < 300, reprint.text
    wait_for(lambda: len(slips_with(agent, code.encode())) == 2, 5, "the reprinted claim slip")
    assert b"COPY" in slips_with(agent, code.encode())[1]


def test_the_pos_reward_list_carries_each_rewards_picture(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    agent.http.delete("/v1/customer")
    agent.scan(JAN_CARD)
    customer = agent.http.get("/v1/customer").raise_for_status().json()
    pictures = {reward["title"]: reward.get("media_url") for reward in customer["rewards"]}
    assert pictures["Free coffee"] == "https://cdn.example/coffee.jpg", customer
    assert pictures["Croissant"] == "https://cdn.example/croissant.jpg", customer


def claim_state(agent: AgentProcess, claim_id: str) -> str | None:
    rows = [row for row in agent.journal_rows("reward_claims") if row["claim_id"] == claim_id]
    return str(rows[0]["state"]) if rows else None


def test_a_lost_digital_claim_found_later_answers_its_code_and_plu(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    sandbox_clean.set_fault(  # the claim is made, its answer lost
        mode="drop_after_commit",
        count=1,
        methods=["POST"],
        paths=["/api/v3/register/reward-receptions"],
    )
    first = claim(agent, "rw-croissant-lost", CROISSANT)
    assert first.json()["code"] == "claim_not_confirmed", first.text
    wait_for(lambda: claim_state(agent, "rw-croissant-lost") == "done", 15, "the claim found")
    again = claim(agent, "rw-croissant-lost", CROISSANT)
    assert again.status_code == 200, again.text
    (reception,) = receptions(sandbox_clean)
    assert (again.json()["external_property"], again.json()["code"]) == (
        "PLU-3003",
        f"SANDBOX-{reception['id']}",
    )
