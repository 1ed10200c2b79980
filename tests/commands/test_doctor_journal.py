"""``register-agent doctor`` (its own process) reports whose journal the till has, and a
lost one as the agent would refuse it at its start, with the commands that decide."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from register_agent.journal import Journal


def _doctor(tmp_path: Path) -> str:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[api]
version = "v3"
base_url = "http://127.0.0.1:9"

[state]
directory = "{tmp_path / "state"}"

[local_api]
metrics_listen = ""
""",
        encoding="utf-8",
    )
    env = {**os.environ, "REGISTER_AGENT_API__API_KEY": "a-key"}
    done = subprocess.run(
        [sys.executable, "-m", "register_agent", "--config", str(config), "doctor"],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    return done.stdout + done.stderr


def test_doctor_names_the_journal_and_a_lost_one(tmp_path: Path) -> None:
    journal = tmp_path / "state" / "journal.sqlite3"
    Journal.open(journal).close()  # as the agent left it

    assert "PASS  journal identity: this till's journal" in _doctor(tmp_path)

    journal.unlink()
    output = _doctor(tmp_path)
    assert "FAIL  journal identity:" in output
    assert "is missing, but this till has a history" in output
    assert "register-agent journal recover" in output
