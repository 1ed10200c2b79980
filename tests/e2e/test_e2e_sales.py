"""End to end, the sales and refunds the POS posts: each answered once, for plain amounts
only. The real ``register-agent run`` process against the sandbox; the outcome is read
from the sandbox's ledger, the agent's journal and the local API's answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess

JAN_CARD, MARIE_CARD = "A1B2C3D4", "B2C3D4E5"


@pytest.fixture
def agent(sandbox_clean: Sandbox, tmp_path: Path) -> Iterator[AgentProcess]:
    # a long wait: the credits come within it, so the first answer says "credited"
    till = AgentProcess(tmp_path, sandbox_clean, "v3", receipt_wait_s=5.0)
    try:
        yield till.start()
    finally:
        till.close()


def credits_rows(sandbox: Sandbox, credits: int) -> list[dict[str, Any]]:
    return [
        row
        for row in sandbox.ledger()
        if row["kind"] == "credit_reception" and row["credits"] == credits
    ]


# --- one answer per sale -----------------------------------------------------------------


def test_eight_identical_posts_of_one_sale_get_one_answer(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    with ThreadPoolExecutor(8) as pos:
        answers = list(
            pos.map(lambda _: agent.sell("S-8", "8.00", customer_card=MARIE_CARD), range(8))
        )

    assert [a.status_code for a in answers] == [200] * 8
    first = answers[0].json()
    assert [a.json() for a in answers] == [first] * 8
    assert first["loyalty"]["state"] == "credited", first
    # a repeat after the first answered: the same answer again, from the journal
    assert agent.sell("S-8", "8.00", customer_card=MARIE_CARD).json() == first
    assert len(credits_rows(sandbox_clean, 8)) == 1
    assert len(agent.journal_rows("sales")) == 1


# --- amounts -----------------------------------------------------------------------------


def test_an_amount_spelt_otherwise_is_the_same_sale(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    first = agent.sell("S-12", "12.50", customer_card=JAN_CARD)
    again = agent.sell("S-12", "12.5", customer_card=JAN_CARD)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    agent.drain(10)
    assert len(credits_rows(sandbox_clean, 12)) == 1
    assert [row["amount_cents"] for row in agent.journal_rows("sales")] == [1250]


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("100000.01", "amount_too_large"),  # above [till] max_sale_amount's default
        ("21474836.48", "invalid_request"),  # above what the Register API can hold
        ("1e3", "invalid_request"),
        ("\u0661\u0662", "invalid_request"),  # Arabic-Indic digits
        ("1_000", "invalid_request"),
        ("+5", "invalid_request"),
        (" 12.50", "invalid_request"),
        (12, "invalid_request"),  # a JSON number
    ],
)
def test_an_amount_the_api_cannot_take_is_refused_before_it_is_recorded(
    agent: AgentProcess, sandbox_clean: Sandbox, amount: object, code: str
) -> None:
    answer = agent.sell("S-BIG", amount, customer_card=JAN_CARD)  # type: ignore[arg-type]

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code
    assert "amount" in answer.json()["message"]
    assert agent.journal_rows("sales") == []
    assert agent.journal_rows("operations") == []
    assert [row for row in sandbox_clean.ledger() if row["kind"] == "credit_reception"] == []


# --- refunds -----------------------------------------------------------------------------


def test_a_part_refund_sent_twice_takes_the_credits_back_once(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    agent.sell("S-R1", "12.00", customer_card=JAN_CARD).raise_for_status()
    agent.drain(10)

    first = agent.refund("S-R1", "10.00", refund_id="R-1")
    again = agent.refund("S-R1", "10", refund_id="R-1")  # the same amount, spelt otherwise
    agent.stop()  # the POS sends it once more after the till restarted
    agent.start()
    after_restart = agent.refund("S-R1", "10.00", refund_id="R-1")

    assert first.status_code == 200, first.text
    assert first.json()["refund_id"] == "R-1"
    assert again.json() == first.json()
    assert (after_restart.status_code, after_restart.json()) == (200, first.json())
    other = agent.refund("S-R1", "5.00", refund_id="R-1")
    assert (other.status_code, other.json()["code"]) == (409, "refund_conflict")
    agent.drain(10)
    assert len(credits_rows(sandbox_clean, -10)) == 1
    assert [op["kind"] for op in agent.journal_rows("operations")] == [
        "credit_reception",
        "refund",
    ]
    assert [(row["refund_id"], row["amount_cents"]) for row in agent.journal_rows("refunds")] == [
        ("R-1", 1000)
    ]


def test_a_part_refund_without_a_refund_id_is_refused(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    agent.sell("S-R2", "12.00", customer_card=JAN_CARD).raise_for_status()
    agent.drain(10)

    answers = [agent.refund("S-R2", "10.00") for _ in range(2)]

    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "refund_id_required"
        assert "refund_id" in answer.json()["message"]
    agent.drain(10)
    assert credits_rows(sandbox_clean, -10) == []


def test_a_whole_refund_with_its_id_sent_twice_answers_the_first_answer(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    agent.sell("S-R3", "15.00", customer_card=JAN_CARD).raise_for_status()
    agent.drain(10)

    first = agent.refund("S-R3", refund_id="R-3")
    again = agent.refund("S-R3", refund_id="R-3")
    without_id = agent.refund("S-R3")

    assert first.status_code == 200, first.text
    assert (again.status_code, again.json()) == (200, first.json())
    assert (without_id.status_code, without_id.json()["code"]) == (409, "sale_closed")
    agent.drain(10)
    reversed_ = [row for row in sandbox_clean.ledger() if row["kind"] == "reverse_credit_reception"]
    assert [row["credits"] for row in reversed_] == [-15]
