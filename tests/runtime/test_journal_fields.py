"""A sale's story found in a real journal by its ``SALE_ID``: a ``systemd-journald`` started
by this test in a mount namespace of its own (private ``/run/systemd``, ``/run/log`` and
``/var/log/journal``, so neither the machine's journal nor another test sees it), and a
``register-agent run --sandbox`` with ``[logging] format = "journal"`` in that namespace;
``journalctl SALE_ID=...`` there must list the sale's lines with their fields, and no line
of the agent may hold the card value or the local API token.

``journalctl -u register-agent`` matches ``_SYSTEMD_UNIT=register-agent.service``, which
journald reads from the sender's cgroup path, not from systemd: so where systemd is not
PID 1 (a container, as here) the agent is started in a cgroup of that name,
``system.slice/register-agent.service`` of the cgroup2 hierarchy, and ``-u`` finds its
lines as on a till. Where systemd is PID 1 that hierarchy is its own (a directory made in
it behind its back would confuse it) and the ``-u`` test skips, saying so.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
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


UNIT_CGROUP = "system.slice/register-agent.service"


def _unit_cgroup() -> tuple[Path | None, str]:
    """The unit's cgroup (made here), or None and why not."""
    if Path("/run/systemd/system").is_dir():
        return None, "systemd is PID 1 here: its cgroup hierarchy is not the test's to change"
    mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    roots = [line.split()[1] for line in mounts if line.split()[2:3] == ["cgroup2"]]
    if not roots:
        return None, "no cgroup2 hierarchy is mounted here"
    cgroup = Path(roots[0]) / UNIT_CGROUP
    try:
        cgroup.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return None, f"cannot make the unit's cgroup {cgroup}: {error}"
    return cgroup, ""


@dataclass
class Story:
    """What the agent told the journal of one sale, and how to ask it again."""

    namespace: list[str]
    in_unit: str  # "" when in the unit's cgroup, else why not
    token: str
    stderr: str


@pytest.fixture(scope="module")
def story(namespace: list[str], tmp_path_factory: pytest.TempPathFactory) -> Story:
    """One agent, in the unit's cgroup where it can be, that sold one sale and stopped."""
    tmp_path = tmp_path_factory.mktemp("journal")
    config = tmp_path / "config.toml"
    config.write_text('[logging]\nformat = "journal"\nlevel = "debug"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTER_AGENT_", "JOURNAL_"))}
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    cgroup, why_not = _unit_cgroup()
    # the agent's process joins the cgroup before it starts: journald reads it per sender
    into_unit = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', f"{cgroup}/cgroup.procs"]
    agent = subprocess.Popen(
        [*namespace, *(into_unit if cgroup else []), sys.executable, "-m", "register_agent",
         "--config", str(config), "run", "--sandbox", "--sandbox-port", "0",
         "--state-dir", str(tmp_path / "state"), "--listen", "127.0.0.1:0"],
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
        _wait_for_entries(namespace, "SALE_ID=journal-sale-1")
    finally:
        agent.terminate()
        _, stderr = agent.communicate(timeout=20)
        if cgroup:
            with contextlib.suppress(OSError):  # another run's agent may still be in it
                cgroup.rmdir()
                cgroup.parent.rmdir()
    return Story(namespace, why_not, token, stderr)


def test_journalctl_finds_a_sale_by_its_sale_id(story: Story) -> None:
    entries = _entries(story.namespace, "SALE_ID=journal-sale-1")
    every = _entries(story.namespace, "SYSLOG_IDENTIFIER=register-agent")
    assert entries
    assert all(entry["SALE_ID"] == "journal-sale-1" for entry in entries)
    assert all(entry["SYSLOG_IDENTIFIER"] == "register-agent" for entry in entries)
    assert all(entry["_TRANSPORT"] == "journal" for entry in entries)  # the native protocol
    assert all(re.fullmatch(r"[0-7]", entry["PRIORITY"]) for entry in entries)
    assert all(entry["CODE_FILE"].endswith(".py") and entry["CODE_FUNC"] for entry in entries)
    assert any(entry.get("OPERATION_ID") for entry in entries), "the credit's operation"
    text = json.dumps(every)
    assert CARD not in text
    assert story.token not in text
    assert len(every) > len(entries)  # the agent's other lines are there, without the field
    assert "journal-sale-1" not in story.stderr  # its lines went to the journal, not to stderr


def test_journalctl_u_register_agent_finds_the_sale(story: Story) -> None:
    """The README's own command: ``journalctl -u register-agent SALE_ID=...``."""
    if story.in_unit:
        pytest.skip(story.in_unit)
    entries = _entries(story.namespace, "-u", "register-agent", "SALE_ID=journal-sale-1")
    assert entries
    assert {entry["_SYSTEMD_UNIT"] for entry in entries} == {"register-agent.service"}
    assert entries == _entries(story.namespace, "SALE_ID=journal-sale-1")
    # every line of the unit is the agent's, and only those: journald's own are not listed
    unit = {entry["__CURSOR"] for entry in _entries(story.namespace, "-u", "register-agent")}
    agent = _entries(story.namespace, "SYSLOG_IDENTIFIER=register-agent")
    assert unit == {entry["__CURSOR"] for entry in agent}
    assert len(_entries(story.namespace)) > len(unit)


def _local_api_of(agent: subprocess.Popen[str]) -> str:
    assert agent.stdout is not None
    for line in agent.stdout:
        if found := re.search(r"local API for the POS: http://(\S+)", line):
            return found.group(1)
    raise AssertionError(f"run --sandbox did not start: {agent.communicate(timeout=5)[1]}")


def _entries(namespace: list[str], *match: str) -> list[dict[str, str]]:
    result = subprocess.run(
        [*namespace, "journalctl", "--no-pager", "-o", "json", *match],
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
