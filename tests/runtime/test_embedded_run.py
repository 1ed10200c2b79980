"""``register-agent run --sandbox`` as the README has a new user drive it, twice in a row on
the same machine: each run a real process, the README's token command run by a shell, the
commands the agent prints run as printed from a shell whose PATH does not have them, and
the run's folder gone when it stops."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_S = 30.0
JAN_CARD = "A1B2C3D4"

pytestmark = pytest.mark.timeout(120)


@dataclass
class Run:
    process: subprocess.Popen[str]
    printed: list[str]
    listen: str


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, str]:
    """A user's shell: its own TMPDIR and runtime directory, no virtual environment on PATH."""
    tmp = tmp_path / "tmp"
    runtime = tmp_path / "run"
    for directory in (tmp, runtime):
        directory.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTER_AGENT_", "VIRTUAL"))}
    venv_bin = str(Path(sys.executable).parent)
    path = [p for p in env.get("PATH", "").split(":") if p and p != venv_bin]
    return {
        **env,
        "PATH": ":".join(path) or "/usr/bin:/bin",
        "TMPDIR": str(tmp),
        "XDG_RUNTIME_DIR": str(runtime),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
    }


def start(env: dict[str, str], *options: str) -> Run:
    """``run --sandbox`` on free ports (the fixed ones may be taken on a shared machine)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "register_agent", "run", "--sandbox",
         "--sandbox-port", "0", "--listen", "127.0.0.1:0", *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None

    def read() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    printed: list[str] = []
    deadline = time.monotonic() + START_S
    while not any("Ctrl-C stops it" in line for line in printed):
        try:
            printed.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
        except queue.Empty:
            process.kill()
            raise AssertionError(f"run --sandbox never said it was ready: {printed}") from None
    listen = re.search(r"local API for the POS: http://(\S+)", "".join(printed))
    assert listen is not None, printed
    return Run(process, printed, listen.group(1))


def stop(run: Run) -> int:
    run.process.send_signal(signal.SIGINT)  # Ctrl-C in `make run`'s terminal
    try:
        return run.process.wait(timeout=20)
    finally:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait(timeout=5)


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        if run.process.poll() is None:
            stop(run)


def shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, env=env, cwd=ROOT, timeout=30,
        check=False,
    )  # fmt: skip


def readme_token_command() -> str:
    """The README's `TOKEN=$(...)` line, as a user pastes it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.startswith("TOKEN=$("))
    return line.split("  #")[0].strip()


def printed_command(run: Run, marker: str) -> str:
    """A command the agent printed for the user: the text after ``marker``, comment cut."""
    line = next(line for line in run.printed if marker in line)
    return line.split(marker, 1)[1].split("  #")[0].strip()


def test_run_sandbox_twice_in_a_row_as_the_readme_says(
    machine: dict[str, str], runs: list[Run]
) -> None:
    folder = Path(machine["TMPDIR"]) / f"register-agent-sandbox-{os.getuid()}"
    for _ in range(2):
        run = start(machine)
        runs.append(run)
        # the commands it prints work as printed, in a shell without the venv on PATH
        assert not [line for line in run.printed if "`register-agent " in line]
        scan_line = next(line for line in run.printed if f" scan {JAN_CARD}" in line)
        scan = shell(scan_line.split("  #")[0].strip(), machine)
        assert scan.returncode == 0, scan.stdout + scan.stderr
        status = shell(printed_command(run, "till status:"), machine)
        assert status.stdout.startswith("Register API:"), status.stdout + status.stderr
        assert status.returncode == 0, status.stdout

        # the counter page it prints opens, without the token (the page logs in itself)
        counter = re.search(r"counter page: +(http://\S+)", "".join(run.printed))
        assert counter is not None, run.printed
        assert counter.group(1) == f"http://{run.listen}/counter"
        page = httpx.get(counter.group(1), timeout=10)
        assert page.status_code == 200
        assert 'src="/counter/counter.js"' in page.text

        # the README's token command names this run's token, however many ran before
        token = shell(f'{readme_token_command()} && printf %s "$TOKEN"', machine)
        assert token.returncode == 0, token.stderr
        with httpx.Client(
            base_url=f"http://{run.listen}",
            headers={"Authorization": f"Bearer {token.stdout}"},
            timeout=10,
        ) as pos:
            deadline = time.monotonic() + 30  # a poll's bound, generous for a busy machine
            while pos.get("/v1/customer").status_code != 200:  # the scan is bound
                assert time.monotonic() < deadline, "the scanned card was never bound"
                time.sleep(0.1)
            answer = pos.post("/v1/sales", json={"sale_id": "1", "amount": "12.50"})
        assert answer.status_code in (200, 201), answer.text
        loyalty = answer.json()["loyalty"]
        # a fresh journal and sandbox each run: the same sale "1" credits Jan anew
        assert (loyalty["state"], loyalty["credits"], loyalty["balance"]) == ("credited", 12, 162)
        assert folder.is_dir()

        assert stop(run) == 0
        assert not folder.exists()  # it cleans up after itself
    assert list(Path(machine["TMPDIR"]).glob("register-agent-sandbox-*")) == []


def test_a_second_run_at_the_same_time_is_refused_and_leaves_the_first_alone(
    machine: dict[str, str], runs: list[Run]
) -> None:
    first = start(machine)
    runs.append(first)
    token = Path(machine["TMPDIR"]) / f"register-agent-sandbox-{os.getuid()}" / "local-api-token"
    before = token.read_text(encoding="utf-8")
    second = subprocess.run(
        [sys.executable, "-m", "register_agent", "run", "--sandbox", "--sandbox-port", "0",
         "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, env=machine, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert second.returncode == 2
    assert "another `register-agent run --sandbox` is using" in second.stderr
    assert "--state-dir" in second.stderr
    assert token.read_text(encoding="utf-8") == before  # the first run's folder untouched
    assert stop(first) == 0
