"""End to end, a v3 sale whose POS transaction is gone (1027) before its credits are
posted: the real ``register-agent run`` process against the sandbox, which forgets the POS
transaction a credit reception names (fault ``pos_transaction_gone``). Judged on the
sandbox's ledger and the journal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess, wait_for

JAN_CARD = "A1B2C3D4"
CREDIT_RECEPTIONS = "/api/v3/register/credit-receptions"


@pytest.fixture
def agent(sandbox_clean: Sandbox, tmp_path: Path) -> Iterator[AgentProcess]:
    till = AgentProcess(tmp_path, sandbox_clean, "v3", receipt_wait_s=0.3)
    try:
        yield till.start()
    finally:
        till.close()


def rows(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == kind]


def test_a_gone_pos_transaction_is_replaced_and_the_sale_credited_once(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    sandbox_clean.set_fault(
        mode="pos_transaction_gone", count=1, paths=[CREDIT_RECEPTIONS], methods=["POST"]
    )

    agent.sell("S-1027", "12.00", customer_card=JAN_CARD).raise_for_status()
    agent.drain(15)

    opened = rows(sandbox_clean, "pos_transaction")
    credits = rows(sandbox_clean, "credit_reception")
    assert len(opened) == 2  # the first, forgotten by the server, and its replacement
    assert [(row["credits"], row["pos_transaction"]) for row in credits] == [
        (12, opened[1]["uuid"])
    ]
    (operation,) = agent.journal_rows("operations")
    assert operation["state"] == "done", operation["last_error"]


def test_a_gone_pos_transaction_an_earlier_attempt_may_have_used_goes_to_review(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    # the first credit reception is cut off unanswered (it did not land, but the agent
    # cannot know); when it is sent again, its POS transaction is gone
    sandbox_clean.set_fault(
        mode="timeout", hold_s=0, count=1, paths=[CREDIT_RECEPTIONS], methods=["POST"]
    )
    sandbox_clean.set_fault(
        mode="pos_transaction_gone", count=1, paths=[CREDIT_RECEPTIONS], methods=["POST"]
    )

    agent.sell("S-1027b", "12.00", customer_card=JAN_CARD).raise_for_status()

    def settled() -> dict[str, Any]:
        (operation,) = agent.journal_rows("operations")
        return {} if operation["state"] in ("pending", "in_flight", "unknown") else operation

    operation = wait_for(settled, 15, "the credit reception to settle")
    # no new POS transaction after the 1027: the first may have carried the credits
    assert len(rows(sandbox_clean, "pos_transaction")) == 1
    assert rows(sandbox_clean, "credit_reception") == []
    assert operation["state"] == "review"
    assert "1027" in operation["last_error"]
