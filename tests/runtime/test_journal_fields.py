"""A sale's story found in a real journal by its ``SALE_ID``: a ``systemd-journald`` started
by this test in a mount namespace of its own (private ``/run/systemd``, ``/run/log`` and
``/var/log/journal``, so neither the machine's journal nor another test sees it), and a
``register-agent run --sandbox`` with ``[logging] format = "journal"`` in that namespace;
``journalctl SALE_ID=...`` there must list the sale's lines with their fields, and no line
of the agent may hold the card value or the local API token.

``journalctl -u register-agent`` would also need systemd as PID 1 to put the agent in the
unit's cgroup; here the agent's lines are told by their ``SYSLOG_IDENTIFIER``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
JOURNALD = Path("/lib/systemd/systemd-journald")
CARD = "A1B2C3D4"  # Jan's card in the sandbox's seed
PRIVATE = ("/run/systemd", "/run/log", "/var/log/journal")

pytestmark = pytest.mark.timeout(120)


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "a journald of the test's own needs root (a mount namespace and its sockets)"
    for tool in ("unshare", "nsenter", "journalctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not JOURNALD.exists():
        return f"{JOURNALD} is not installed (Debian's systemd package)"
    return None


@pytest.fixture(scope="module")
def namespace() -> Iterator[list[str]]:
    """A process holding a private mount namespace with journald in it: the command prefix
    that runs a program there."""
    if reason := _why_not():
        pytest.skip(reason)
    mounts = " && ".join(f"mkdir -p {d} && mount -t tmpfs tmpfs {d}" for d in PRIVATE)
    holder = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f"{mounts} && echo ready && exec sleep 600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None
    if holder.stdout.readline().strip() != "ready":
        holder.kill()
        pytest.skip(f"no private mount namespace here: {holder.communicate()[1].strip()}")
    inside = ["nsenter", "-t", str(holder.pid), "-m", "--"]
    journald = subprocess.Popen(
        [*inside, str(JOURNALD)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        socket_there = [*inside, "test", "-S", "/run/systemd/journal/socket"]
        for _ in range(100):
            if subprocess.run(socket_there, check=False).returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.skip("systemd-journald started by hand made no socket here")
        yield inside
    finally:
        journald.terminate()
        journald.wait(10)
        holder.kill()
        holder.wait(10)


def test_journalctl_finds_a_sale_by_its_sale_id(namespace: list[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[logging]\nformat = "journal"\nlevel = "debug"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTER_AGENT_", "JOURNAL_"))}
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    agent = subprocess.Popen(
        [*namespace, sys.executable, "-m", "register_agent", "--config", str(config), "run",
         "--sandbox", "--sandbox-port", "0", "--state-dir", str(tmp_path / "state"),
         "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
             "XDG_RUNTIME_DIR": str(runtime)},
    )  # fmt: skip
    try:
        address = _local_api_of(agent)
        token = (tmp_path / "state" / "local-api-token").read_text(encoding="utf-8").strip()
        answer = httpx.post(
            f"http://{address}/v1/sales",
            json={"sale_id": "journal-sale-1", "amount": "7.50", "customer_card": CARD},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        entries = _wait_for_entries(namespace, "SALE_ID=journal-sale-1")
        every = _entries(namespace, "SYSLOG_IDENTIFIER=register-agent")
    finally:
        agent.terminate()
        _, stderr = agent.communicate(timeout=20)
    assert all(entry["SALE_ID"] == "journal-sale-1" for entry in entries)
    assert all(entry["SYSLOG_IDENTIFIER"] == "register-agent" for entry in entries)
    assert all(entry["_TRANSPORT"] == "journal" for entry in entries)  # the native protocol
    assert all(re.fullmatch(r"[0-7]", entry["PRIORITY"]) for entry in entries)
    assert all(entry["CODE_FILE"].endswith(".py") and entry["CODE_FUNC"] for entry in entries)
    assert any(entry.get("OPERATION_ID") for entry in entries), "the credit's operation"
    text = json.dumps(every)
    assert CARD not in text
    assert token not in text
    assert len(every) > len(entries)  # the agent's other lines are there, without the field
    assert "journal-sale-1" not in stderr  # its lines went to the journal, not to stderr


def _local_api_of(agent: subprocess.Popen[str]) -> str:
    assert agent.stdout is not None
    for line in agent.stdout:
        if found := re.search(r"local API for the POS: http://(\S+)", line):
            return found.group(1)
    raise AssertionError(f"run --sandbox did not start: {agent.communicate(timeout=5)[1]}")


def _entries(namespace: list[str], match: str) -> list[dict[str, str]]:
    result = subprocess.run(
        [*namespace, "journalctl", "--no-pager", "-o", "json", match],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _wait_for_entries(namespace: list[str], match: str) -> list[dict[str, str]]:
    """The entries once the sale's credit has been logged as sent (bounded wait)."""
    for _ in range(100):
        entries = _entries(namespace, match)
        if any(entry.get("OPERATION_ID") for entry in entries):
            return entries
        time.sleep(0.2)
    raise AssertionError(f"no entries with {match} and an operation: {entries}")
