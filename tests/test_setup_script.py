"""``scripts/setup.sh``, the first thing `make run` and `make test` do on a fresh machine: it
waits for another apt or dpkg to let go of their locks instead of failing, and installs
exactly the packages the README names. apt itself is a stand-in that records its calls
(the real one would change this machine); the lock is a real fcntl lock held by another
process, as apt and dpkg hold theirs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "setup.sh"
PACKAGES = ROOT / "scripts" / "system-packages.txt"
ABSENT = "register-agent-test-absent"  # a package no machine has: setup must install it

pytestmark = pytest.mark.timeout(60)

HOLD = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
    "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
    "print('locked', flush=True)\n"
    "sys.stdin.readline()\n"  # holds it until told
)


def packages_of(text: str) -> list[str]:
    """The file's package names: the first word of each line, comments left out."""
    lines = (line.split("#")[0].split() for line in text.splitlines())
    return [words[0] for words in lines if words]


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, str]:
    """The environment of a root shell whose apt records its calls and whose lock is ours."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "apt-calls"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {record}\n', encoding="utf-8")
    (bin_dir / "id").write_text("#!/bin/sh\necho 0\n", encoding="utf-8")  # as root
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    packages = tmp_path / "packages.txt"
    packages.write_text(f"{ABSENT}  # why: the test\n", encoding="utf-8")
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SYSTEM_PACKAGES_FILE": str(packages),
        "APT_LOCKS": f"{tmp_path / 'absent-lock'}:{tmp_path / 'lock-frontend'}",
        "APT_LOCK_TIMEOUT_S": "60",
        "RECORD": str(record),
    }


@pytest.fixture
def held_lock(machine: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the dpkg front-end lock, as a running apt does."""
    lock = machine["APT_LOCKS"].split(":")[1]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, lock], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    try:
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=5)


def start_setup(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["bash", str(SETUP), "system-packages"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip


def test_setup_waits_for_the_apt_lock_then_installs(
    machine: dict[str, str], held_lock: subprocess.Popen[str]
) -> None:
    record = Path(machine["RECORD"])
    setup = start_setup(machine)
    assert setup.stderr is not None
    waiting = setup.stderr.readline()
    assert "another package manager holds" in waiting, waiting
    assert f"lock-frontend (pid {held_lock.pid})" in waiting
    assert "waiting for it to finish (up to 60 s)" in waiting
    assert setup.poll() is None  # still waiting ...
    assert not record.exists()  # ... and apt not started while the lock is held

    assert held_lock.stdin is not None
    held_lock.stdin.write("go\n")
    held_lock.stdin.flush()
    held_lock.wait(timeout=5)  # the other apt is done

    out, err = setup.communicate(timeout=30)
    assert setup.returncode == 0, out + err
    assert "the package manager is free" in err
    calls = record.read_text(encoding="utf-8").splitlines()
    assert calls == [
        "-o DPkg::Lock::Timeout=60 update -qq",
        f"-o DPkg::Lock::Timeout=60 install -y -qq {ABSENT}",
    ]


def test_setup_gives_up_after_its_timeout_and_says_what_to_do(
    machine: dict[str, str], held_lock: subprocess.Popen[str]
) -> None:
    setup = start_setup({**machine, "APT_LOCK_TIMEOUT_S": "1"})
    _, err = setup.communicate(timeout=30)
    assert setup.returncode == 1
    assert "still holds" in err
    assert "lock-frontend" in err
    assert "then run make again" in err
    assert not Path(machine["RECORD"]).exists()


def test_setup_installs_nothing_when_nothing_is_missing(machine: dict[str, str]) -> None:
    Path(machine["SYSTEM_PACKAGES_FILE"]).write_text("bash  # surely there\n", encoding="utf-8")
    setup = start_setup(machine)
    _, err = setup.communicate(timeout=30)
    assert setup.returncode == 0, err
    assert not Path(machine["RECORD"]).exists()


def test_the_readme_names_exactly_the_packages_setup_installs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("Both commands set everything up")
    paragraph = readme[start : readme.index("installed through apt", start)]
    named = set(re.findall(r"`([a-z0-9][a-z0-9.+-]*)`", paragraph))
    assert named == set(packages_of(PACKAGES.read_text(encoding="utf-8")))
    assert "scripts/system-packages.txt" in paragraph
