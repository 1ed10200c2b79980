"""``register-agent status`` against a real ``register-agent run --sandbox`` process: healthy,
then degraded while the Register API is down, then healthy again; not running; a refused
token; and the same over a unix socket."""

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

import pytest

from drivers.virtual_reader import inject
from register_agent.commands.local_client import JsonClient
from register_agent.commands.status import describe, healthy

ROOT = Path(__file__).resolve().parents[2]
START_S = 20.0
#: short backoffs: the outbox delivers within a second of the API's return
CONFIG = "[outbox]\nbackoff_base_s = 0.1\nbackoff_max_s = 0.5\nunknown_delay_s = 0.2\n"


@dataclass
class RunningAgent:
    process: subprocess.Popen[str]
    state: Path
    listen: str
    sandbox_url: str
    runtime: Path  # where its virtual reader's socket is

    def status(self, *options: str) -> subprocess.CompletedProcess[str]:
        return run_status("--state-dir", str(self.state), "--listen", self.listen, *options)

    def scan(self, value: str) -> None:
        inject(self.runtime / "register-agent" / "counter.sock", value.encode() + b"\r")

    def fault(self, spec: dict[str, object]) -> None:
        assert JsonClient(self.sandbox_url).post("/_sandbox/faults", spec).ok


def run_status(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "register_agent", "status", *options],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )


def start_agent(tmp: Path, listen: str) -> RunningAgent:
    """``run --sandbox`` as a user starts it; its own state and runtime directories."""
    config = tmp / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    runtime = tmp / "run"
    runtime.mkdir(mode=0o700)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "XDG_RUNTIME_DIR": str(runtime),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "register_agent", "--config", str(config), "run", "--sandbox",
         "--sandbox-port", "0", "--state-dir", str(tmp / "state"), "--listen", listen],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    lines = _lines_of(process)
    sandbox_url = listen_at = ""
    deadline = time.monotonic() + START_S
    while not listen_at:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            process.kill()
            raise AssertionError("run --sandbox did not say it was ready") from None
        if found := re.search(r"sandbox Register API: (http://\S+)", line):
            sandbox_url = found.group(1)
        if found := re.search(r"till status: .* --listen (\S+)", line):
            listen_at = found.group(1)
    return RunningAgent(process, tmp / "state", listen_at, sandbox_url, runtime)


def _lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's output, line by line, read in a thread so a wait can be bounded."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout

    def read() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def stop(agent: RunningAgent) -> None:
    agent.process.send_signal(signal.SIGTERM)
    try:
        agent.process.wait(timeout=15)
    finally:
        if agent.process.poll() is None:
            agent.process.kill()
            agent.process.wait(timeout=5)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAgent]:
    running = start_agent(tmp_path_factory.mktemp("status"), "127.0.0.1:0")
    try:
        yield running
    finally:
        stop(running)


def wait_for_status(agent: RunningAgent, code: int, says: str, timeout_s: float = 10.0) -> str:
    """The status once it exits with ``code`` and says ``says`` (bounded wait)."""
    deadline = time.monotonic() + timeout_s
    result = agent.status()
    while (result.returncode, says in result.stdout) != (code, True):
        if time.monotonic() > deadline:
            raise AssertionError(f"status never said {says!r}: {result.stdout}{result.stderr}")
        time.sleep(0.2)
        result = agent.status()
    return result.stdout


def test_healthy_then_degraded_while_the_api_is_down_then_healthy(agent: RunningAgent) -> None:
    healthy = wait_for_status(agent, 0, "Register API: reachable")
    assert healthy.splitlines()[0] == (
        "Register API: reachable | outbox: 0 pending, 0 in review, 0 refused | "
        "printer: online | readers: counter ok"
    )
    agent.fault({"mode": "error_503", "paths": ["/api/"]})
    agent.scan("A1B2C3D4")  # the lookup meets the outage; the sale waits in the outbox
    down = wait_for_status(agent, 1, "UNREACHABLE")
    assert down.startswith("Register API: UNREACHABLE | outbox: ")
    token = (agent.state / "local-api-token").read_text(encoding="utf-8").strip()
    pos = JsonClient(agent.listen, token, timeout_s=10)
    sale = pos.post("/v1/sales", {"sale_id": "s-1", "amount": "4.00"})
    assert sale.body["loyalty"]["state"] == "pending"
    waiting = agent.status()
    assert waiting.returncode == 1
    assert re.search(r"outbox: 1 pending \(oldest \d+ s\), 0 in review, 0 refused", waiting.stdout)
    agent.fault({"mode": "off"})
    agent.scan("B2C3D4E5")  # the next lookup finds the API back
    back = wait_for_status(agent, 0, "Register API: reachable")
    assert back.startswith("Register API: reachable | outbox: ")


def test_nothing_listening_is_not_running(agent: RunningAgent, tmp_path: Path) -> None:
    result = run_status("--state-dir", str(agent.state), "--listen", "127.0.0.1:9")
    assert result.returncode == 2
    assert result.stdout.startswith("Agent: NOT RUNNING (nothing answers on 127.0.0.1:9")


def test_a_wrong_or_missing_token_cannot_tell(agent: RunningAgent, tmp_path: Path) -> None:
    (tmp_path / "local-api-token").write_text("not-the-token\n", encoding="utf-8")
    wrong = run_status("--state-dir", str(tmp_path), "--listen", agent.listen)
    assert wrong.returncode == 3
    assert "refuses the token" in wrong.stdout
    missing = run_status("--state-dir", str(tmp_path / "nowhere"), "--listen", agent.listen)
    assert missing.returncode == 3
    assert "no token to ask it with" in missing.stdout


def test_status_over_a_unix_socket(tmp_path: Path) -> None:
    socket_path = tmp_path / "api.sock"
    running = start_agent(tmp_path, f"unix:{socket_path}")
    try:
        assert running.listen == f"unix:{socket_path}"
        assert wait_for_status(running, 0, "Register API: reachable")
    finally:
        stop(running)
    gone = running.status()
    assert gone.returncode == 2, gone.stdout


def _status(**changes: object) -> dict[str, object]:
    status: dict[str, object] = {
        "register_api": "reachable",
        "outbox_pending": 0,
        "outbox_oldest_age_s": None,
        "outbox_review": 0,
        "outbox_dead": 0,
        "alerts": [],
        "printer": "online: Printer ready.",
        "readers": ["counter: ok", "door: ok"],
    }
    return {**status, **changes}


def test_what_makes_a_till_degraded() -> None:
    assert healthy(_status())
    assert healthy(_status(outbox_pending=3, outbox_oldest_age_s=130.0))  # the outbox at work
    assert healthy(_status(printer="none (the POS prints)"))
    assert not healthy(_status(register_api="key_refused"))
    assert not healthy(_status(printer="paper out: Printer is out of paper: put in a new roll."))
    assert not healthy(_status(readers=["counter: ok", "door: down (unplugged)"]))
    assert not healthy(_status(outbox_review=1, alerts=["1 operations need a person"]))


def test_the_status_line_in_the_installers_words() -> None:
    text = describe(
        _status(
            register_api="unreachable",
            outbox_pending=3,
            outbox_oldest_age_s=130.0,
            outbox_review=1,
            printer="paper out: Printer is out of paper: put in a new roll.",
            alerts=["1 operations need a person: register-agent review"],
        )
    )
    assert text.splitlines() == [
        "Register API: UNREACHABLE | outbox: 3 pending (oldest 2 min), 1 in review, 0 refused"
        " | printer: paper out: Printer is out of paper: put in a new roll."
        " | readers: counter ok, door ok",
        "  alert: 1 operations need a person: register-agent review",
    ]


def test_the_status_line_counts_the_pass_through_jobs() -> None:
    figures = {"relayed": 12, "with_block": 9, "passed": {"no_total": 2, "copy": 1}}
    [line] = describe(_status(passthrough=figures)).splitlines()
    assert line.endswith("| pass-through: 12 jobs, 9 with a block, 3 untouched")
    assert "pass-through" not in describe(_status())
