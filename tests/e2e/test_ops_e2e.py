"""review, export/import and the metrics listener, end to end: real agent processes
(``python -m register_agent --config CFG run``), the sandbox over loopback, the CLI run as
an installer runs it, and the sandbox's ledger as the witness of what reached Piggy."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.ops_support import (
    LOCAL_TOKEN,
    TOKEN_SECRET,
    AgentProcess,
    cli,
    journal_rows,
    wait_for,
    write_config,
)
from tests.support.ports import free_port

pytestmark = pytest.mark.timeout(60)
CARD = "A1B2C3D4"  # Jan's card in the default seed


@pytest.fixture
def agents() -> Iterator[list[AgentProcess]]:
    running: list[AgentProcess] = []
    yield running
    for agent in running:
        agent.stop()


def credits_for(sandbox: Sandbox, amount: str) -> list[dict[str, Any]]:
    return [
        row
        for row in sandbox.ledger()
        if row["kind"] == "credit_reception"
        and row.get("amount") is not None
        and Decimal(str(row["amount"])) == Decimal(amount)
    ]


def states(config: Path) -> dict[str, str]:
    return dict(journal_rows(config, "SELECT sale_id, state FROM operations"))


def test_review_applied_and_resend_while_the_agent_runs(
    sandbox_clean: Sandbox, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    config = write_config(tmp_path / "till", base_url=sandbox_clean.url, version="v1")
    credit_path = ["/api/v1/register/credit-receptions"]
    # sale 1: applied, but the answer is lost; sale 2: never applied, never answered.
    # v1 cannot look a reception up, so both end in review for a person to decide
    sandbox_clean.set_fault(mode="drop_after_commit", count=1, paths=credit_path)
    sandbox_clean.set_fault(mode="timeout", hold_s=2, count=1, paths=credit_path)
    agent = AgentProcess(config, sandbox_clean.v1_key)
    agents.append(agent)
    agent.sell("S1", "10.00", CARD)
    agent.sell("S2", "20.00", CARD)
    wait_for(lambda: states(config) == {"S1": "review", "S2": "review"}, 15, "two reviews")

    listing = cli(config, "review")
    ids = dict(journal_rows(config, "SELECT sale_id, id FROM operations"))
    assert ids["S1"] in listing
    assert ids["S2"] in listing
    assert "card ...C3D4" in listing
    assert CARD not in listing

    cli(config, "review", "--applied", str(ids["S1"]))  # the dashboard shows the credits
    cli(config, "review", "--resend", str(ids["S2"]))  # the dashboard shows none
    wait_for(lambda: states(config) == {"S1": "done", "S2": "done"}, 10, "the resend")

    assert len(credits_for(sandbox_clean, "10.00")) == 1
    assert len(credits_for(sandbox_clean, "20.00")) == 1
    decisions = journal_rows(
        config, "SELECT operation_id, decision, decided_by FROM operation_decisions ORDER BY id"
    )
    assert [(op, decision) for op, decision, _ in decisions] == [
        (ids["S1"], "applied"),
        (ids["S2"], "resend"),
    ]
    assert all(by for _, _, by in decisions)
    assert "no operations wait for review" in cli(config, "review")


def test_export_moves_undelivered_operations_to_the_replacement_till_once(
    sandbox_clean: Sandbox, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    offline = f"http://127.0.0.1:{free_port()}"  # the old till's network is gone
    old = write_config(tmp_path / "old", base_url=offline, version="v3")
    new = write_config(tmp_path / "new", base_url=sandbox_clean.url, version="v3")
    old_agent = AgentProcess(old, sandbox_clean.v3_key)
    old_agent.sell("T1", "12.50", CARD)
    old_agent.sell("T2", "7.00", CARD)
    old_agent.stop()
    assert states(old) == {"T1": "pending", "T2": "pending"}

    exported = tmp_path / "move.json"
    assert "2 operations of 2 sales exported" in cli(old, "export", str(exported))
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    text = exported.read_text()
    for secret in (sandbox_clean.v3_key, TOKEN_SECRET, LOCAL_TOKEN):
        assert secret not in text
    assert states(old) == {"T1": "exported", "T2": "exported"}
    moved = {row["id"] for row in json.loads(text)["operations"] if row["moved"]}

    new_agent = AgentProcess(new, sandbox_clean.v3_key)
    agents.append(new_agent)
    assert "2 operations of 2 sales imported" in cli(new, "import", str(exported))
    wait_for(lambda: states(new) == {"T1": "done", "T2": "done"}, 10, "delivery on the new till")
    assert "0 operations of 0 sales imported" in cli(new, "import", str(exported))
    # a second export of the old till finds nothing: it can never send them too
    assert "0 operations" in cli(old, "export", str(tmp_path / "again.json"))

    carried = [
        row["attributes"].get("agent_operation_id")
        for row in sandbox_clean.ledger()
        if row["kind"] == "credit_reception"
    ]
    assert sorted(carried) == sorted(moved)  # each exactly once
    assert len(journal_rows(new, "SELECT id FROM operations")) == 2


def test_metrics_listener_shows_the_series_and_no_secrets(
    sandbox_clean: Sandbox, tmp_path: Path, agents: list[AgentProcess]
) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "till", base_url=sandbox_clean.url, version="v3", metrics_port=port
    )
    sandbox_clean.set_fault(mode="error_503", count=1, paths=["/api/v3/register/pos-transactions"])
    agent = AgentProcess(config, sandbox_clean.v3_key)
    agents.append(agent)
    agent.sell("M1", "5.00", CARD)
    wait_for(lambda: states(config) == {"M1": "done"}, 10, "the sale's credits")

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for series in (
        'register_agent_operations{state="done"} 1.0',
        'register_agent_operations{state="pending"} 0.0',
        "register_agent_outbox_depth 0.0",
        "register_agent_outbox_oldest_age_seconds 0.0",
        "register_agent_outbox_backlog_lanes 1.0",
        "register_agent_sales_total 1.0",
        'register_agent_api_errors_total{code="503"} 1.0',
        'register_agent_api_state{state="reachable"} 1.0',
        'register_agent_printer_state{state="online"} 0.0',
        'register_agent_print_jobs{state="pending"} 0.0',
        'register_agent_operation_retries_total{kind="credit_reception",state="pending"} 1.0',
    ):
        assert series in text, series
    assert 'register_agent_api_request_seconds_count{method="POST"}' in text
    for secret in (sandbox_clean.v3_key, TOKEN_SECRET, LOCAL_TOKEN, CARD):
        assert secret not in text
