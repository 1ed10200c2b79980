"""``register-agent sandbox`` as a user runs it: a real process, a real curl, SIGTERM."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_sandbox_command_answers_curl_with_the_seeded_key() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "register_agent", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(8)]
        url = re.search(r"listening on (http://\S+)", banner[0])
        assert url, banner
        assert any("sandbox-v3-key" in line for line in banner)
        assert any("sandbox-v1-key" in line for line in banner)
        answer = subprocess.run(
            [
                "curl",
                "-sS",
                "--max-time",
                "5",
                "-H",
                "Authorization: Bearer sandbox-v3-key",
                f"{url.group(1)}/api/v3/register",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        assert json.loads(answer.stdout)["data"]["identifier"] == "T001"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert "sandbox stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def test_a_broken_seed_stops_the_command_with_the_entry_named(tmp_path: Path) -> None:
    seed = tmp_path / "seed.toml"
    seed.write_text('loyalty_token_secret = "s"\n[[shops]]\nid = 1\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "register_agent", "sandbox", "--port", "0", "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2
    assert "shops[0].uuid: Field required" in result.stderr
