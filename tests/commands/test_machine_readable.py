"""``status --json`` and ``doctor --json`` as a monitoring check runs them, each in a process
of its own against a real ``run --sandbox`` agent; the exit codes a check relies on (a
command-line mistake is 64, never "not running"); ``REGISTER_AGENT_CONFIG``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_status_command import RunningAgent, run_status, start_agent, stop

ROOT = Path(__file__).resolve().parents[2]
STATUS_FIELDS = {"schema", "command", "version", "exit_code", "state", "reason", "listen", "till"}
TILL_FIELDS = {"register_api", "journal", "outbox", "claims", "printer", "readers", "alerts"}

pytestmark = pytest.mark.timeout(90)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGISTER_AGENT_")}
    return subprocess.run(
        [sys.executable, "-m", "register_agent", *args],
        capture_output=True, text=True, timeout=45, check=False, cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT), **(env or {})},
    )  # fmt: skip


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAgent]:
    running = start_agent(tmp_path_factory.mktemp("json"), "127.0.0.1:0")
    try:
        yield running
    finally:
        stop(running)


def test_status_json_of_a_healthy_then_degraded_till(agent: RunningAgent) -> None:
    answer = _json_status(agent, 0, printer="online")
    assert set(answer) == STATUS_FIELDS
    assert answer["schema"] == 1
    assert (answer["state"], answer["reason"], answer["listen"]) == ("healthy", None, agent.listen)
    till = answer["till"]
    assert set(till) == TILL_FIELDS
    assert till["register_api"] in ("reachable", "unknown")
    assert till["outbox"] == {"pending": 0, "oldest_age_s": None, "review": 0, "dead": 0}
    assert till["printer"]["state"] == "online"
    assert till["readers"] == [{"name": "counter", "state": "ok", "detail": None}]
    agent.fault({"mode": "error_503", "paths": ["/api/"]})
    try:
        agent.scan("A1B2C3D4")  # the lookup meets the outage
        degraded = _json_status(agent, 1)
    finally:
        agent.fault({"mode": "off"})
    assert degraded["state"] == "degraded"
    assert degraded["till"]["register_api"] == "unreachable"
    assert degraded["reason"].startswith("Register API: UNREACHABLE")


def _json_status(agent: RunningAgent, code: int, printer: str | None = None) -> Any:
    """The JSON answer once status exits ``code`` (and the printer has been asked, when
    ``printer`` is given): the API's and the printer's states settle after start."""
    for _ in range(50):
        result = agent.status("--json")
        answer = json.loads(result.stdout)
        assert answer["exit_code"] == result.returncode
        if result.returncode == code and printer in (None, answer["till"]["printer"]["state"]):
            return answer
        time.sleep(0.2)
    raise AssertionError(f"status --json never exited {code}: {result.stdout}{result.stderr}")


def test_status_json_when_nothing_runs_exits_2(tmp_path: Path) -> None:
    result = run_status("--json", "--state-dir", str(tmp_path), "--listen", "127.0.0.1:9")
    assert result.returncode == 2
    answer = json.loads(result.stdout)
    assert (answer["state"], answer["till"], answer["exit_code"]) == ("not_running", None, 2)
    assert "nothing answers on 127.0.0.1:9" in answer["reason"]


def test_a_command_line_mistake_is_64_not_a_state() -> None:
    for args in (["status", "--no-such-option"], ["no-such-command"], ["status", "--timeout", "x"]):
        result = cli(*args)
        assert result.returncode == 64, (args, result.stderr)
        assert "usage: register-agent" in result.stderr
    assert cli("status", "--help").returncode == 0


def test_an_unreadable_config_cannot_tell_rather_than_not_running(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[local_api]\nno_such_key = 1\n", encoding="utf-8")
    result = cli("status", "--json", "--config", str(bad))
    assert result.returncode == 3
    answer = json.loads(result.stdout)
    assert answer["state"] == "unknown"
    assert "local_api.no_such_key" in answer["reason"]


def test_the_config_comes_from_register_agent_config_when_no_option_names_one(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[local_api]\nlisten = "127.0.0.1:9"\n', encoding="utf-8")
    by_variable = cli("status", "--json", env={"REGISTER_AGENT_CONFIG": str(config)})
    assert json.loads(by_variable.stdout)["listen"] == "127.0.0.1:9"
    other = tmp_path / "other.toml"
    other.write_text('[local_api]\nlisten = "127.0.0.1:7"\n', encoding="utf-8")
    for args in (["--config", str(other), "status"], ["status", "--config", str(other)]):
        given = cli(*args, "--json", env={"REGISTER_AGENT_CONFIG": str(config)})
        assert json.loads(given.stdout)["listen"] == "127.0.0.1:7", args  # --config wins
    missing = cli("status", env={"REGISTER_AGENT_CONFIG": str(tmp_path / "absent.toml")})
    assert missing.returncode == 3
    assert f"$REGISTER_AGENT_CONFIG names {tmp_path / 'absent.toml'}" in missing.stderr


def test_doctor_json_lists_every_check(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[api]\nbase_url = "http://127.0.0.1:9"\n[state]\ndirectory = "{state}"\n',
        encoding="utf-8",
    )
    result = cli("doctor", "--json", "--config", str(config))
    assert result.returncode == 1  # no API key: a FAIL
    answer = json.loads(result.stdout)
    assert set(answer) == {"schema", "command", "version", "exit_code", "ok", "failures", "checks"}
    assert (answer["schema"], answer["exit_code"], answer["ok"]) == (1, 1, False)
    checks = {check["name"]: check for check in answer["checks"]}
    assert checks["API key"]["verdict"] == "FAIL"
    assert checks["API key"]["fix"]
    assert checks["config"]["verdict"] == "PASS"
    assert checks["config"]["fix"] is None
    assert answer["failures"] == sum(c["verdict"] == "FAIL" for c in answer["checks"])
