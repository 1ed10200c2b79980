"""Collectable rewards end to end: a real ``register-agent run`` process with the account's
personal access token, against the sandbox's process. A pre-redeemable reward claimed at
the counter takes its credits once and waits as a collectable reward; the POS lists it
with the docs' fields, hands it out with a sale, and the outbox collects it exactly once
(a sale sent again collects nothing more; an answer lost after the commit is settled by
the contact's list, not sent twice); voiding the sale makes it collectable again, its
credits still spent. Judged on the sandbox's ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess, wait_for

pytestmark = pytest.mark.timeout(90)

JAN_CARD = "A1B2C3D4"
CAKE = "a2c6f318-5d70-4f91-82b3-de4f50617283"  # pre-redeemable, 40 credits, PLU-4004
TOKEN = "sandbox-personal-access-token"


@pytest.fixture(scope="module")
def agent(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    till = AgentProcess(tmp_path_factory.mktemp("collect-v3"), sandbox, "v3", prints="pos")
    till.extra_env["REGISTER_AGENT_API__PERSONAL_ACCESS_TOKEN"] = TOKEN
    try:
        yield till.start()
    finally:
        till.close()


def rows(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == kind]


def pre_redeem(agent: AgentProcess, claim_id: str) -> str:
    body = {"claim_id": claim_id, "reward_key": CAKE, "customer_card": JAN_CARD}
    answer = agent.http.post("/v1/rewards/claims", json=body)
    assert answer.status_code == 200, answer.text
    collectable: str = answer.json()["collectable_id"]
    assert collectable, answer.json()
    return collectable


def waiting(agent: AgentProcess) -> list[dict[str, Any]]:
    answer = agent.http.get("/v1/customer/collectable-rewards", params={"customer_card": JAN_CARD})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def sell(agent: AgentProcess, sale_id: str, collectable: str) -> None:
    body = {
        "sale_id": sale_id,
        "amount": "4.00",
        "customer_card": JAN_CARD,
        "collect": [collectable],
    }
    answer = agent.http.post("/v1/sales", json=body)
    assert answer.status_code == 200, answer.text


def settled(agent: AgentProcess) -> bool:
    status = agent.http.get("/v1/status").json()
    return bool(status["outbox_pending"] == 0 and status["outbox_review"] == 0)


def test_a_pre_redeemed_reward_is_collected_with_its_sale_once_and_back_on_void(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    collectable = pre_redeem(agent, "cake-1")
    (listed,) = waiting(agent)
    assert (listed["uuid"], listed["title"], listed["external_property"]) == (
        collectable,
        "Birthday cake",
        "PLU-4004",
    )
    assert (listed["required_credits"], listed["reward_key"]) == (40, CAKE)

    sell(agent, "collect-1", collectable)
    wait_for(lambda: rows(sandbox_clean, "collectable_reward_collected"), 10, "the collection")
    sell(agent, "collect-1", collectable)  # the POS sends the sale again
    wait_for(lambda: settled(agent), 10, "the outbox settled")
    assert waiting(agent) == []
    (claim,) = rows(sandbox_clean, "reward_reception")
    assert (claim["credits"], claim["collectable"]) == (-40, True)  # taken once
    assert len(rows(sandbox_clean, "collectable_reward_collected")) == 1

    voided = agent.http.post("/v1/sales/collect-1/void")
    assert voided.status_code == 200, voided.text
    assert "collected rewards" in voided.json()["message"]
    wait_for(
        lambda: rows(sandbox_clean, "collectable_reward_collection_reversed"), 10, "the reverse"
    )
    wait_for(lambda: settled(agent), 10, "the outbox settled")
    assert [entry["uuid"] for entry in waiting(agent)] == [collectable]  # to pick up later
    reversed_ = rows(sandbox_clean, "collectable_reward_collection_reversed")
    assert [row["uuid"] for row in reversed_] == [collectable]
    # the claim's credits stay spent: no counter-entry of the reward reception
    assert not [row for row in sandbox_clean.ledger() if row.get("reverses") == claim["uuid"]]
    assert TOKEN not in agent.log()


def test_a_collection_whose_answer_was_lost_is_found_in_the_list_not_sent_twice(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    collectable = pre_redeem(agent, "cake-2")
    sandbox_clean.set_fault(mode="drop_after_commit", count=1, paths=[".*/collect/.*"])
    sell(agent, "collect-2", collectable)
    wait_for(lambda: settled(agent), 15, "the outbox settled")
    assert len(rows(sandbox_clean, "collectable_reward_collected")) == 1
    collects = [
        row
        for row in sandbox_clean.requests()
        if row["method"] == "PUT" and "/collect/" in row["path"]
    ]
    assert len(collects) == 1  # the lost answer was settled by the list, never resent
    assert waiting(agent) == []
