"""A till with a history never starts on a lost journal: the real agent process, its real
SQLite files deleted, emptied, cut short, or its -wal file removed after a kill -9 while
its sales lived only there. It stops with exit 78 (which the systemd unit does not
restart) and a message naming what happened and the two commands; ``register-agent
journal recover`` then keeps what is readable, so a sale the POS sends again is answered
from the journal and not credited twice in the sandbox's ledger.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess

JAN = "A1B2C3D4"
NEEDS_DECISION = 78


@pytest.fixture
def till(tmp_path: Path, sandbox_clean: Sandbox) -> Iterator[AgentProcess]:
    agent = AgentProcess(tmp_path / "till", sandbox_clean, "v3", prints="pos")
    try:
        yield agent
    finally:
        agent.close()


def _journal(agent: AgentProcess) -> Path:
    return agent.state_dir / "journal.sqlite3"


def _sell_and_settle(agent: AgentProcess, *sale_ids: str) -> list[dict[str, Any]]:
    answers = []
    for number, sale_id in enumerate(sale_ids, start=1):
        response = agent.sell(sale_id, f"{number}1.00", customer_card=JAN)
        assert response.status_code in (200, 201), response.text
        answers.append(response.json())
    agent.drain()
    return answers


def _refused(agent: AgentProcess) -> str:
    """Start the agent and expect it to refuse; its log."""
    try:
        agent.start()
    except AssertionError:  # it ended while starting: how is asked below
        pass
    else:
        agent.kill()
        pytest.fail(f"the agent started on a lost journal:\n{agent.log()[-3000:]}")
    assert agent.process is not None
    assert agent.process.returncode == NEEDS_DECISION, agent.log()[-3000:]
    return agent.log()


def _journal_command(agent: AgentProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "register_agent", "--config", str(agent.config_path), "journal",
         *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _credit_receptions_of(sandbox: Sandbox, sale_id: str) -> int:
    ledger = sandbox.ledger()
    ours = {row.get("uuid") for row in ledger if row["kind"] == "pos_transaction"
            and row.get("transaction_id") == sale_id}  # fmt: skip
    return sum(
        1
        for row in ledger
        if row["kind"] == "credit_reception" and row.get("pos_transaction") in ours
    )


@pytest.mark.parametrize("damage", ["deleted", "emptied", "cut_short"])
def test_a_till_with_a_history_refuses_a_lost_journal(till: AgentProcess, damage: str) -> None:
    till.start()
    _sell_and_settle(till, "S-1", "S-2")
    assert till.stop() == 0
    journal = _journal(till)
    size = journal.stat().st_size
    if damage == "deleted":
        journal.unlink()
    else:
        with journal.open("r+b") as file:
            file.truncate(0 if damage == "emptied" else size // 2)
    log = _refused(till)
    expected = {"deleted": "is missing", "emptied": "is empty", "cut_short": "is damaged"}
    assert expected[damage] in log
    assert "register-agent journal recover" in log
    assert "register-agent journal reset" in log
    assert "permission" not in log
    assert "free space" not in log


def test_the_wal_removed_after_a_kill_is_told_and_recover_keeps_the_rest(
    till: AgentProcess, sandbox_clean: Sandbox
) -> None:
    till.start()
    first = _sell_and_settle(till, "S-1")
    assert till.stop() == 0  # S-1 is in the journal file itself now
    till.start()
    _sell_and_settle(till, "S-2", "S-3")
    till.kill()
    journal = _journal(till)
    wal = journal.with_name(journal.name + "-wal")
    assert wal.stat().st_size > 0
    alone = till.home / "main-file-alone.sqlite3"  # what the file holds without its -wal
    shutil.copyfile(journal, alone)
    with sqlite3.connect(alone) as db:
        held = {row[0] for row in db.execute("SELECT sale_id FROM sales")}
    assert held == {"S-1"}  # S-2 and S-3 lived only in the -wal file
    wal.unlink()
    journal.with_name(journal.name + "-shm").unlink(missing_ok=True)

    log = _refused(till)
    assert "write-ahead log" in log
    assert "register-agent journal recover" in log

    said = _journal_command(till, "recover")
    assert said.returncode == 1, said.stderr
    assert "What it loses" in said.stdout
    assert "Nothing was changed" in said.stdout
    done = _journal_command(till, "recover", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "kept at" in done.stdout
    assert any(name.startswith("journal.sqlite3.damaged-") for name in os.listdir(till.state_dir))

    till.start()
    again = till.sell("S-1", "11.00", customer_card=JAN)  # the POS sends S-1 again
    assert again.status_code in (200, 201), again.text
    assert again.json() == first[0]  # the journal's first answer
    till.drain()
    assert _credit_receptions_of(sandbox_clean, "S-1") == 1
    assert till.stop() == 0


def test_reset_starts_empty_and_says_what_it_loses(till: AgentProcess) -> None:
    till.start()
    _sell_and_settle(till, "S-1")
    assert till.stop() == 0
    _journal(till).unlink()
    _refused(till)
    done = _journal_command(till, "reset", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "credited a second time" in done.stdout
    till.start()
    with till.journal() as db:
        assert db.execute("SELECT origin FROM journal_identity").fetchone()[0] == "reset"
        assert db.execute("SELECT COUNT(*) FROM sales").fetchone()[0] == 0
    assert till.stop() == 0


def test_the_journal_commands_refuse_while_the_agent_runs(till: AgentProcess) -> None:
    till.start()
    done = _journal_command(till, "reset", "--yes")
    assert done.returncode == 2
    assert "stop it first" in done.stderr
    assert till.stop() == 0
