"""End to end at the counter: the real ``register-agent run`` process, a pty card reader,
the TCP virtual printer and the sandbox, for v1 and v3: a card scan and a sale, a sale
without a card and its QR, reward claims, a sale posted twice, the token.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess, wait_for

JAN_CARD, JAN_ID, JAN_UUID = "A1B2C3D4", 7731, "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
MARIE_CARD, MARIE_ID = "B2C3D4E5", 7732


@pytest.fixture(params=["v1", "v3"])
def agent(
    request: pytest.FixtureRequest, sandbox_clean: Sandbox, tmp_path: Path
) -> Iterator[AgentProcess]:
    till = AgentProcess(tmp_path, sandbox_clean, request.param, receipt_wait_s=1.5)
    try:
        yield till.start()
    finally:
        till.close()


def receptions(sandbox: Sandbox, kind: str = "credit_reception") -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == kind]


def test_card_scan_and_sale(agent: AgentProcess, sandbox_clean: Sandbox) -> None:
    agent.scan(JAN_CARD)
    answer = agent.sell("S-1", "12.50").raise_for_status().json()

    credits = receptions(sandbox_clean)
    assert len(credits) == 1
    assert credits[0]["member"]["id"] == JAN_ID
    assert credits[0]["credits"] == 12
    assert answer["loyalty"]["state"] == "credited", answer
    assert (answer["loyalty"]["credits"], answer["loyalty"]["balance"]) == (12, 162)
    receipt = agent.wait_printed("S-1")
    assert b"Points earned" in receipt
    assert b"12" in receipt
    assert b"Your balance" in receipt
    assert b"162" in receipt

    # the next shopper scans nothing: not credited to Jan
    after = agent.sell("S-2", "7.00").raise_for_status().json()
    assert after["loyalty"]["customer"] is None
    assert len(receptions(sandbox_clean)) == 1
    if agent.version == "v3":
        assert after["loyalty"]["state"] == "qr"
        assert after["loyalty"]["qr_url"]
    else:
        staged = wait_for(
            lambda: receptions(sandbox_clean, "staged_credit_reception"), 5, "a staged reception"
        )
        assert [row["credits"] for row in staged] == [7]
    assert agent.journal_rows("sales")[1]["customer_key"] is None


def test_sale_without_card_claims_once_by_qr(agent: AgentProcess, sandbox_clean: Sandbox) -> None:
    answer = agent.sell("S-3", "20.00").raise_for_status().json()

    assert answer["loyalty"]["state"] == "qr", answer
    url = answer["loyalty"]["qr_url"]
    receipt = agent.wait_printed("S-3")
    assert url.encode() in receipt  # the QR's data, stored in the printer as is
    first = sandbox_clean.claim(url, MARIE_ID)
    assert first.status_code == 200, first.text
    assert first.json()["data"]["credits"] == 20
    second = sandbox_clean.claim(url, JAN_ID)
    assert second.status_code >= 400, second.text
    claimed = [r for r in sandbox_clean.ledger() if r["kind"] in ("staged_claim", "token_claim")]
    assert [(r["member"]["id"], r["credits"]) for r in claimed] == [(MARIE_ID, 20)]
    assert receptions(sandbox_clean) == []


def test_reward_claims_by_card_and_by_member(agent: AgentProcess, sandbox_clean: Sandbox) -> None:
    agent.scan(JAN_CARD)
    shown = agent.http.get("/v1/customer").raise_for_status().json()
    coffee = next(r["key"] for r in shown["rewards"] if r["title"] == "Free coffee")
    member = str(JAN_ID) if agent.version == "v1" else JAN_UUID
    claims = [
        {"claim_id": "C-0", "reward_key": coffee},  # the scanned customer
        {"claim_id": "C-1", "reward_key": coffee, "customer_card": JAN_CARD},
        {"claim_id": "C-2", "reward_key": coffee, "customer_key": member},
    ]

    balances = []
    for claim in claims:
        first = agent.http.post("/v1/rewards/claims", json=claim)
        assert first.status_code == 200, first.text
        assert first.json()["credits"] == -50
        balances.append(first.json()["balance"])
        again = agent.http.post("/v1/rewards/claims", json=claim)  # the POS sends it twice
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
        if claim["claim_id"] == "C-0":
            agent.http.delete("/v1/customer").raise_for_status()

    assert balances == [100, 50, 0]
    rows = receptions(sandbox_clean, "reward_reception")
    assert [(r["member"]["id"], r["credits"]) for r in rows] == [(JAN_ID, -50)] * 3
    assert len(agent.journal_rows("reward_claims")) == 3
    broke = {"claim_id": "C-3", "reward_key": coffee, "customer_key": member}
    assert agent.http.post("/v1/rewards/claims", json=broke).status_code >= 400
    assert len(receptions(sandbox_clean, "reward_reception")) == 3


def test_same_sale_twice(agent: AgentProcess, sandbox_clean: Sandbox) -> None:
    first = agent.sell("S-4", "9.99", customer_card=JAN_CARD).raise_for_status().json()
    again = agent.sell("S-4", "9.99", customer_card=JAN_CARD)
    assert again.status_code == 200
    assert again.json() == first
    other = agent.sell("S-4", "19.99", customer_card=JAN_CARD)
    assert other.status_code == 409
    assert other.json()["code"] == "sale_conflict"

    # a POS that times out and sends again while the first is still being answered
    with ThreadPoolExecutor(4) as pos:
        answers = list(
            pos.map(lambda _: agent.sell("S-6", "4.50", customer_card=MARIE_CARD), range(4))
        )
    assert {a.status_code for a in answers} == {200}
    # a repeat that comes while the first is still waiting for the credits waits for the
    # first's answer: one answer for the sale (tests/e2e/test_e2e_sales.py)
    assert [a.json() for a in answers] == [answers[0].json()] * 4

    agent.drain(10)
    credits = receptions(sandbox_clean)
    assert sorted((r["member"]["id"], r["credits"]) for r in credits) == [
        (JAN_ID, 9),
        (MARIE_ID, 4),
    ]
    assert len(agent.journal_rows("sales")) == 2
    assert len(agent.journal_rows("operations")) == 2


def test_a_customer_named_by_the_pos_ends_the_scanned_one(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    agent.scan(JAN_CARD)
    agent.sell("S-7", "3.00", customer_card=MARIE_CARD).raise_for_status()
    after = agent.sell("S-8", "6.00").raise_for_status().json()

    agent.drain(10)
    credits = receptions(sandbox_clean)
    assert [(r["member"]["id"], r["credits"]) for r in credits] == [(MARIE_ID, 3)]
    assert after["loyalty"]["customer"] is None


def test_local_api_refuses_a_missing_or_wrong_token(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    sale = {"sale_id": "S-5", "amount": "5.00", "customer_card": JAN_CARD}
    wrong = [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic x"}]
    with httpx.Client(base_url=agent.url, timeout=5) as anonymous:
        for headers in wrong:
            for method, path, body in (
                ("GET", "/v1/status", None),
                ("POST", "/v1/sales", sale),
                ("GET", "/v1/customer", None),
            ):
                answer = anonymous.request(method, path, json=body, headers=headers)
                assert answer.status_code == 401, (method, path, headers, answer.text)
                assert "code" in answer.json()

    assert agent.journal_rows("sales") == []
    assert receptions(sandbox_clean) == []
    assert agent.sell("S-5", "5.00").status_code == 200  # the right token still works


def test_reprint_is_a_copy_and_void_takes_the_credits_back(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    agent.scan(JAN_CARD)
    agent.sell("S-9", "15.00").raise_for_status()
    original = agent.wait_printed("S-9")
    assert b"COPY" not in original
    agent.http.post("/v1/sales/S-9/reprint").raise_for_status()
    wait_for(lambda: len(agent.printed_for("S-9")) == 2, 5, "the copy")
    assert b"*** COPY ***" in agent.printed_for("S-9")[1]

    voided = agent.http.post("/v1/sales/S-9/void")
    if agent.version == "v1":  # v1 has no reverse call: the POS is told to correct by hand
        assert voided.status_code == 409
        assert voided.json()["code"] == "refund_unsupported"
        return
    assert voided.status_code == 200, voided.text
    agent.drain(10)
    reversed_ = receptions(sandbox_clean, "reverse_credit_reception")
    assert [(r["member"]["id"], r["credits"]) for r in reversed_] == [(JAN_ID, -15)]
    assert agent.http.post("/v1/sales/S-9/void").status_code == 409  # once
