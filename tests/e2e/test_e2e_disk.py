"""End to end with a real full disk: the state directory of the real ``register-agent run``
process is a small tmpfs, filled with a file and given back. The POS hears a 503 it can
act on instead of a reset, the agent stays up and says why (``/v1/status``,
``register-agent status``, systemd's status line), and once the space is back the refused
sale sent again and a new one are each credited once in the sandbox's ledger. An
answer of the Register API that arrives while the disk is full, and a slip printed then,
are written once there is space: credited once, printed once. A housekeeping round that
fails on the disk shows in ``status`` instead of dying unseen.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from drivers.virtual_printer import VirtualState
from tests.conftest import Sandbox
from tests.support.agent_harness import TOKEN, AgentProcess, wait_for
from tests.support.agent_process import ROOT, Notifications

JAN = "A1B2C3D4"
DISK_SIZE = "4m"  # room for the journal and its WAL; filled by a ballast file


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A till's home whose state directory is a tmpfs of its own, unmounted at the end."""
    home = tmp_path / "till"
    state = home / "state"
    state.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0700", "tmpfs", str(state)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            "a full disk needs a small file system of its own: mounting a tmpfs was not "
            f"permitted ({mounted.stderr.strip() or mounted.returncode}); run as root"
        )
    try:
        yield home
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)


def fill(directory: Path) -> Path:
    """Write a ballast file until the file system says ENOSPC; the file, to give it back."""
    ballast = directory / "ballast"
    # unbuffered: a buffer left over at the close would meet ENOSPC there
    with ballast.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass
    assert os.statvfs(directory).f_bavail == 0
    return ballast


def credited(sandbox: Sandbox, amount: str) -> list[dict[str, Any]]:
    whole = int(Decimal(amount))
    return [
        row
        for row in sandbox.ledger()
        if row["kind"] == "credit_reception" and int(Decimal(row["amount"])) == whole
    ]


def said(notifications: Notifications, start: str, *, after: str | None = None) -> list[str]:
    """The status lines told to "systemd" that start with ``start`` (with ``after``: only
    those after the first line that starts with the disk-full news)."""
    lines = notifications.lines()
    if after is not None:
        full = [i for i, line in enumerate(lines) if line.startswith("STATUS=the till's disk")]
        lines = lines[full[0] + 1 :] if full else []
    return [line for line in lines if line.startswith(start)]


def status_command(agent: AgentProcess) -> subprocess.CompletedProcess[str]:
    return operator_command(agent, "status")


def operator_command(agent: AgentProcess, command: str) -> subprocess.CompletedProcess[str]:
    """``register-agent status`` or ``doctor`` beside the running agent, as an operator runs
    it (the token and the API key from the environment, like the agent's)."""
    env = {
        **os.environ,
        "REGISTER_AGENT_LOCAL_API__TOKEN": TOKEN,
        "REGISTER_AGENT_API__API_KEY": agent.sandbox.v3_key,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "register_agent", "--config", str(agent.config_path), command],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


def test_a_full_disk_answers_503_and_the_agent_goes_on_once_space_is_back(
    small_disk: Path, sandbox_clean: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifications = Notifications(small_disk.parent / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notifications.path))  # the harness passes it on
    agent = AgentProcess(small_disk, sandbox_clean, "v3", receipt_wait_s=1.5)
    try:
        agent.start()
        assert agent.sell("before", "11.00", customer_card=JAN).status_code == 200
        agent.wait_printed("before")
        ballast = fill(agent.state_dir)

        refused = agent.sell("during", "12.00", customer_card=JAN)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "disk_full"
        assert "disk is full" in refused.json()["message"]
        assert "without loyalty" in refused.json()["message"]
        assert refused.headers["Retry-After"] == "60"
        assert agent.running
        status = agent.status()  # the reads go on
        assert status["journal"] == "disk_full"
        assert any("disk is full" in alert for alert in status["alerts"]), status
        told = status_command(agent)
        assert told.returncode == 1, told.stdout + told.stderr
        assert "DISK FULL" in told.stdout
        doctor = operator_command(agent, "doctor")
        assert "FAIL  free space: the disk of" in doctor.stdout, doctor.stdout
        assert "503 disk_full" in doctor.stdout
        wait_for(lambda: said(notifications, "STATUS=the till's disk is full"), 15, "STATUS=")
        assert credited(sandbox_clean, "12.00") == []
        with agent.journal() as db:
            assert (
                db.execute("SELECT COUNT(*) FROM sales WHERE sale_id = 'during'").fetchone()[0] == 0
            )

        ballast.unlink()  # the operator frees space; nobody restarts the agent
        again = agent.sell("during", "12.00", customer_card=JAN)
        assert again.status_code == 200, again.text
        assert agent.sell("after", "13.00", customer_card=JAN).status_code == 200
        agent.drain()
        for amount in ("11.00", "12.00", "13.00"):
            assert len(credited(sandbox_clean, amount)) == 1, amount
        agent.wait_printed("during")
        agent.wait_printed("after")
        assert agent.status()["journal"] == "ok"
        ready = "STATUS=journal open, local API listening"
        wait_for(lambda: said(notifications, ready, after=ready), 15, "STATUS= back to ready")
        assert agent.running
        assert agent.stop() == 0
    finally:
        agent.close()
        notifications.close()


def test_a_failing_housekeeping_round_shows_in_status_and_the_agent_stays_up(
    sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    agent = AgentProcess(tmp_path, sandbox_clean, "v3")
    # where housekeeping writes the register info before moving it in place: a directory,
    # so the write fails with an OSError like a full disk's
    (agent.state_dir / "register.tmp").mkdir()
    try:
        agent.start()
        alerts = wait_for(
            lambda: [a for a in agent.status()["alerts"] if a.startswith("housekeeping")],
            10,
            "the housekeeping failure in status",
        )
        assert "register.tmp" in alerts[0]
        assert agent.running
        assert agent.sell("S-1", "5.00", customer_card=JAN).status_code == 200
    finally:
        agent.close()


def test_an_answer_that_comes_while_the_disk_is_full_is_kept_and_credited_once(
    small_disk: Path, sandbox_clean: Sandbox
) -> None:
    agent = AgentProcess(small_disk, sandbox_clean, "v3", read_timeout_s=10.0)
    # the credit reception is answered 3 s after it arrived: the disk fills meanwhile
    sandbox_clean.set_fault(
        mode="latency", latency_ms=3000, count=1, paths=[".*/credit-receptions$"]
    )
    try:
        agent.start()
        assert agent.sell("slow", "14.00", customer_card=JAN).status_code == 200
        wait_for(
            lambda: [
                r for r in sandbox_clean.requests() if r["path"].endswith("/credit-receptions")
            ],
            10,
            "the credit reception to reach the sandbox",
        )
        ballast = fill(agent.state_dir)
        wait_for(lambda: credited(sandbox_clean, "14.00"), 10, "the sandbox to credit the sale")
        wait_for(
            lambda: any(a.startswith("outbox") for a in agent.status()["alerts"]),
            10,
            "the outbox's refused write in status",
        )
        assert [op["state"] for op in agent.journal_rows("operations")] == ["in_flight"]
        assert agent.running

        ballast.unlink()
        agent.drain()
        assert [op["state"] for op in agent.journal_rows("operations")] == ["done"]
        assert len(credited(sandbox_clean, "14.00")) == 1
        assert not any(a.startswith("outbox") for a in agent.status()["alerts"])
        assert agent.running
    finally:
        agent.close()


def test_a_slip_printed_while_the_disk_is_full_is_not_printed_again(
    small_disk: Path, sandbox_clean: Sandbox
) -> None:
    agent = AgentProcess(small_disk, sandbox_clean, "v3")
    try:
        agent.start()
        agent.printer.state = VirtualState.PAPER_OUT  # the slip waits in the journal
        assert agent.sell("paper", "15.00", customer_card=JAN).status_code == 200
        agent.drain()  # credited, and the job is still pending
        ballast = fill(agent.state_dir)
        agent.printer.state = VirtualState.OK  # a new roll: the slip comes out now
        agent.wait_printed("paper", timeout_s=15)
        wait_for(
            lambda: any(a.startswith("printer") for a in agent.status()["alerts"]),
            10,
            "the printer's refused write in status",
        )
        # the worker turns again after 0.5 s, 1 s, 2 s (its backoff) and fails to mark the
        # job each time: still one slip
        time.sleep(4)
        assert len(agent.printed_for("paper")) == 1

        ballast.unlink()
        wait_for(
            lambda: [j["state"] for j in agent.journal_rows("print_jobs")] == ["printed"],
            20,
            "the printed slip marked done",
        )
        assert len(agent.printed_for("paper")) == 1
        assert agent.running
    finally:
        agent.close()


def test_a_damaged_journal_page_refuses_sales_and_the_agent_stays_up(
    sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    agent = AgentProcess(tmp_path, sandbox_clean, "v3")
    try:
        agent.start()
        assert agent.sell("first", "16.00", customer_card=JAN).status_code == 200
        agent.drain()
        agent.stop()  # a clean stop: every page is in the main file
        agent.start()
        damage_the_sales_table(agent.state_dir / "journal.sqlite3")

        refused = agent.sell("second", "17.00", customer_card=JAN)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "journal_damaged"
        assert "register-agent journal recover" in refused.json()["message"]
        assert agent.running
        assert agent.status()["journal"] == "damaged"
        again = agent.sell("third", "18.00", customer_card=JAN)  # no write is tried now
        assert again.status_code == 503
        assert "DAMAGED" in status_command(agent).stdout
        assert credited(sandbox_clean, "17.00") == credited(sandbox_clean, "18.00") == []
        assert agent.running
    finally:
        agent.close()


def damage_the_sales_table(path: Path) -> None:
    """Overwrite the pages of the sales table and its index with garbage, beside the
    running agent (which has not read them since its start): a bad page on the card."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        roots = [
            row[0]
            for row in db.execute("SELECT rootpage FROM sqlite_master WHERE tbl_name = 'sales'")
        ]
    with path.open("r+b") as journal:
        for root in roots:
            journal.seek((root - 1) * size)
            journal.write(b"\xff" * size)
        journal.flush()
        os.fsync(journal.fileno())


def test_an_agent_that_restarts_on_a_full_disk_starts_and_reconciles_once_there_is_space(
    small_disk: Path, sandbox_clean: Sandbox
) -> None:
    agent = AgentProcess(small_disk, sandbox_clean, "v3")
    try:
        # killed (like kill -9) with the credit sent and its answer not yet in the journal
        agent.start(crash_at="after_send")
        with contextlib.suppress(httpx.TransportError):  # it may die before answering
            agent.sell("cut", "19.00", customer_card=JAN)
        assert agent.wait_exit(10) == 137, agent.log()
        assert [op["state"] for op in agent.journal_rows("operations")] == ["in_flight"]
        # A read transaction of the test's holds the WAL, so the start can neither fold it
        # into the main file nor write it from its beginning again (either would free the
        # space the test took away): the start's first write, in_flight -> unknown, meets
        # the full disk, and so does the marker's.
        with agent.journal() as holder:
            holder.execute("BEGIN")
            holder.execute("SELECT COUNT(*) FROM operations").fetchone()
            ballast = fill(agent.state_dir)
            agent.start()  # systemd's restart, on the full disk: it must come up
            assert agent.status()["journal"] == "disk_full"
            refused = agent.sell("next", "20.00", customer_card=JAN)
            assert refused.status_code == 503, refused.text
            assert agent.journal_rows("operations")[0]["state"] == "in_flight"
            assert agent.running
            holder.execute("COMMIT")

        ballast.unlink()
        agent.drain()  # in_flight becomes unknown, then reconciled: found, done
        assert [op["state"] for op in agent.journal_rows("operations")] == ["done"]
        assert len(credited(sandbox_clean, "19.00")) == 1
        assert agent.sell("next", "20.00", customer_card=JAN).status_code == 200
        agent.drain()
        assert len(credited(sandbox_clean, "20.00")) == 1
    finally:
        agent.close()
