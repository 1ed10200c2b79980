"""End to end with vouchers: the real ``register-agent run`` process (v3, with the account's
personal access token) against the sandbox process's vouchers. A voucher is checked,
locked for a sale and redeemed once the sale is posted; a voided sale's voucher, a lock
given up and a lock whose sale never comes are released; a lock outlives kill -9 and is
still redeemed or released. Outcomes are read from the sandbox's own voucher state and
ledger, the agent's journal and its printed receipt; the voucher's code never in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess
from tests.support.voucher_support import settled, voucher_agent, voucher_rows, vouchers_by_code

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def agent(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    """One till for the module; a lock it holds is released after 10 minutes, far beyond
    any test here (a test that waits for that release has its own till)."""
    till = voucher_agent(tmp_path_factory.mktemp("vouchers"), sandbox, hold_s=600)
    try:
        yield till.start()
    finally:
        till.close()


def voucher_state(sandbox: Sandbox, code: str) -> dict[str, Any]:
    return vouchers_by_code(sandbox)[code]


def lock(agent: AgentProcess, code: str, sale_id: str) -> dict[str, Any]:
    answer = agent.http.post("/v1/vouchers/locks", json={"code": code, "sale_id": sale_id})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_voucher_is_checked_by_its_code_and_says_why_it_cannot_be_used(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    good = agent.http.post("/v1/vouchers/check", json={"code": "VCH-COFFEE-01"}).json()
    assert (good["usable"], good["name"], good["code"]) == (True, "Free coffee", "…E-01")
    assert good["attributes"] == {"plu": "PLU-COFFEE"}
    used = agent.http.post("/v1/vouchers/check", json={"code": "VCH-USED-21"}).json()
    assert (used["usable"], used["status"]) == (False, "REDEEMED")
    assert "redeemed already" in used["reason"]
    unknown = agent.http.post("/v1/vouchers/check", json={"code": "NO-SUCH-CODE"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "voucher_unknown")
    refused = agent.http.post("/v1/vouchers/locks", json={"code": "VCH-OLD-22", "sale_id": "x"})
    assert (refused.status_code, refused.json()["code"]) == (409, "voucher_expired")
    assert voucher_rows(sandbox_clean, "VCH-OLD-22") == []


def test_a_locked_voucher_is_redeemed_once_its_sale_is_posted(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    held = lock(agent, "VCH-COFFEE-01", "V-SALE-1")
    assert held["state"] == "locked"
    assert voucher_state(sandbox_clean, "VCH-COFFEE-01")["status"] == "LOCKED"
    assert lock(agent, "VCH-COFFEE-01", "V-SALE-1")["lock_id"] == held["lock_id"]  # a repeat
    assert agent.sell("V-SALE-1", "4.50").status_code == 200
    assert settled(agent, held["lock_id"])["state"] == "redeemed"
    assert voucher_state(sandbox_clean, "VCH-COFFEE-01")["status"] == "REDEEMED"
    assert voucher_rows(sandbox_clean, "VCH-COFFEE-01") == ["voucher_locked", "voucher_redeemed"]
    printed = agent.wait_printed("V-SALE-1")
    assert b"Voucher ****E-01 redeemed: Free coffee" in printed
    assert b"VCH-COFFEE-01" not in printed
    (operation,) = [op for op in agent.journal_rows("operations") if op["id"] == held["lock_id"]]
    assert operation["sale_id"] == "V-SALE-1"
    assert "VCH-COFFEE-01" not in operation["payload"] + (operation["result"] or "")
    assert "VCH-COFFEE-01" not in agent.log()


def test_a_voided_sales_voucher_is_released_not_redeemed(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    # the voucher service refuses the redeem while the sale is voided: the outbox is still
    # trying when the void comes, and the void turns the redeem into a release
    sandbox_clean.set_fault(mode="error_503", paths=["/api/v3/register/vouchers/redeem"])
    held = lock(agent, "VCH-COFFEE-02", "V-SALE-2")
    assert agent.sell("V-SALE-2", "4.50").status_code == 200
    assert agent.http.post("/v1/sales/V-SALE-2/void").status_code == 200
    assert settled(agent, held["lock_id"])["state"] == "released"
    assert voucher_state(sandbox_clean, "VCH-COFFEE-02")["status"] == "ACTIVE"
    assert voucher_rows(sandbox_clean, "VCH-COFFEE-02") == ["voucher_locked", "voucher_released"]


def test_a_lock_given_up_is_released(agent: AgentProcess, sandbox_clean: Sandbox) -> None:
    held = lock(agent, "VCH-COFFEE-03", "V-SALE-3")
    released = agent.http.post(f"/v1/vouchers/locks/{held['lock_id']}/release")
    assert released.status_code == 200
    assert settled(agent, held["lock_id"])["state"] == "released"
    assert voucher_state(sandbox_clean, "VCH-COFFEE-03")["status"] == "ACTIVE"
    # the sale posted after all finds its voucher released, never redeemed
    assert agent.sell("V-SALE-3", "4.50").status_code == 200
    agent.drain()
    assert voucher_rows(sandbox_clean, "VCH-COFFEE-03") == ["voucher_locked", "voucher_released"]


def test_a_lock_outlives_kill_9_and_is_redeemed_when_its_sale_comes(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    held = lock(agent, "VCH-COFFEE-04", "V-SALE-4")
    agent.kill()
    agent.start()
    assert agent.sell("V-SALE-4", "4.50").status_code == 200
    assert settled(agent, held["lock_id"])["state"] == "redeemed"
    assert voucher_state(sandbox_clean, "VCH-COFFEE-04")["status"] == "REDEEMED"


def test_a_lock_whose_sale_never_comes_is_released_even_across_kill_9(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Its own till, whose locks are released after two seconds: killed while holding a
    lock, and killed again once the release is decided and before it is sent."""
    sandbox.reset()
    till = voucher_agent(tmp_path, sandbox, hold_s=2)
    try:
        till.start(crash_at="voucher_decided")
        held = lock(till, "VCH-COFFEE-05", "V-NEVER")
        assert till.wait_exit(30) == 137, till.log()  # died with the release decided
        assert voucher_state(sandbox, "VCH-COFFEE-05")["status"] == "LOCKED"
        till.start()
        assert settled(till, held["lock_id"])["state"] == "released"
        assert voucher_state(sandbox, "VCH-COFFEE-05")["status"] == "ACTIVE"
        assert voucher_rows(sandbox, "VCH-COFFEE-05") == ["voucher_locked", "voucher_released"]
    finally:
        till.close()
