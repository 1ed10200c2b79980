"""The outbox never works one operation twice at once after a restart: a real agent
process against the sandbox."""

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
