"""``register-agent sandbox`` as a user runs it: a real process, a real curl, SIGTERM."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def sandbox_command() -> subprocess.Popen[str]:
    """``register-agent sandbox`` on a free port, its output piped line by line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "register_agent", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_sandbox_command_answers_curl_with_the_seeded_key() -> None:
    process = sandbox_command()
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


def test_a_client_hanging_up_before_its_answer_prints_no_traceback() -> None:
    """The agent's deadline (or a test's cut) often ends a faulted request before the
    sandbox answers it: the sandbox's console must stay readable, not fill with
    BrokenPipeError tracebacks."""
    process = sandbox_command()
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        found = re.search(r"listening on http://([\d.]+):(\d+)", banner)
        assert found, banner
        address = (found.group(1), int(found.group(2)))
        fault = {"mode": "latency", "latency_ms": 300, "paths": ["/api/v3"]}
        body = json.dumps(fault).encode()
        with socket.create_connection(address, timeout=5) as control:
            control.sendall(
                b"POST /_sandbox/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            assert b" 200 " in control.recv(4096).split(b"\r\n")[0] + b" "
        for _ in range(3):
            hasty = socket.create_connection(address, timeout=5)
            # a reset, not a polite close: the sandbox's late answer meets a dead socket
            hasty.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            hasty.sendall(
                b"GET /api/v3/register HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer sandbox-v3-key\r\n\r\n"
            )
            hasty.close()
        time.sleep(0.8)  # the held answers are written now, into the reset sockets
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        errors = process.stderr.read() if process.stderr else ""
        assert "Traceback" not in errors, errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
