"""A till that takes vouchers (v3 with the account's personal access token) and the
sandbox's own view of its vouchers, for the voucher tests (tests/e2e/test_e2e_vouchers.py,
tests/faults/test_voucher_storm.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess, wait_for

PERSONAL_ACCESS_TOKEN = "sandbox-personal-access-token"  # the seed's
#: the seed's vouchers of Jan that a code alone redeems
COFFEES = [f"VCH-COFFEE-{n:02d}" for n in range(1, 7)]
SETTLED = ("redeemed", "released", "failed")


def voucher_agent(home: Path, sandbox: Sandbox, *, hold_s: float) -> AgentProcess:
    """A v3 till with the token; a lock whose sale is not posted is released after
    ``hold_s`` seconds."""
    till = AgentProcess(home, sandbox, "v3")
    config = till.config_path.read_text(encoding="utf-8")
    token = f'personal_access_token = "{PERSONAL_ACCESS_TOKEN}"'
    config = config.replace("[api]\n", f"[api]\n{token}\n", 1)
    config = config.replace("[outbox]\n", f"[outbox]\nvoucher_hold_s = {hold_s}\n", 1)
    till.config_path.write_text(config, encoding="utf-8")
    return till


def vouchers_by_code(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """Every voucher as the sandbox holds it (the register's own list, not the agent's)."""
    answer = httpx.get(
        f"{sandbox.url}/api/v3/register/vouchers",
        params={"limit": 500},
        headers={"Authorization": f"Bearer {sandbox.v3_key}"},
        timeout=5,
    )
    return {voucher["code"]: voucher for voucher in answer.raise_for_status().json()["data"]}


def voucher_rows(sandbox: Sandbox, code: str) -> list[str]:
    """The sandbox ledger's rows of one voucher: locked, released, redeemed."""
    return [row["kind"] for row in sandbox.ledger() if row.get("code") == code]


def settled(agent: AgentProcess, lock_id: str, timeout_s: float = 30) -> dict[str, Any]:
    """The lock once the outbox has redeemed or released it (or given up on it)."""

    def state() -> dict[str, Any]:
        body: dict[str, Any] = agent.http.get(f"/v1/vouchers/locks/{lock_id}").json()
        return body if body["state"] in SETTLED else {}

    return wait_for(state, timeout_s, f"voucher lock {lock_id} to settle", 0.1)
