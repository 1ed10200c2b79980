"""What a new installer trips over at the command line, each run as the installer runs it:
``register-agent`` in its own process, against real files, sockets and ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = Path("/etc/register-agent/config.toml")

pytestmark = pytest.mark.timeout(60)


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``register-agent ARGS`` in a process of its own, without the caller's agent settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTER_AGENT_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "register_agent", *args],
        capture_output=True, text=True, timeout=45, check=False, env=env, cwd=cwd,
    )  # fmt: skip


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    path.write_text(f'[state]\ndirectory = "{state}"\n{extra}', encoding="utf-8")
    return path


needs_no_till_config = pytest.mark.skipif(
    DEFAULT_CONFIG.exists(), reason=f"this machine has a till's {DEFAULT_CONFIG}"
)


@needs_no_till_config
def test_config_check_refuses_a_missing_default_config_file() -> None:
    result = cli("config-check")
    assert result.returncode == 2, result.stdout
    assert "config ok" not in result.stdout
    assert f"{DEFAULT_CONFIG} does not exist" in result.stderr
    assert "copy config/register-agent.example.toml" in result.stderr


@needs_no_till_config
def test_doctor_fails_the_config_check_when_the_default_file_is_missing() -> None:
    result = cli("doctor")
    assert result.returncode == 1
    config_line = next(line for line in result.stdout.splitlines() if " config:" in line)
    assert config_line.startswith("FAIL  config:"), result.stdout
    assert f"{DEFAULT_CONFIG} does not exist" in config_line


@pytest.mark.parametrize("command", ["config-check", "doctor", "status", "print-test"])
def test_config_is_read_before_or_after_the_command(command: str, tmp_path: Path) -> None:
    """The same file named on either side of the command: both read it (a missing one
    shows it was read, since the command's own defaults never name it)."""
    absent = tmp_path / "absent.toml"
    before = cli("--config", str(absent), command)
    after = cli(command, "--config", str(absent))
    for result in (before, after):
        assert "unrecognized arguments" not in result.stderr
        assert f"config file {absent} does not exist" in result.stdout + result.stderr
        # status: 3, "cannot tell"; its 2 means "not running" to a monitoring check
        assert result.returncode == {"doctor": 1, "status": 3}.get(command, 2)


def test_config_after_the_command_wins_and_is_the_one_checked(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[api]\nversion = "v1"\n')
    result = cli("--config", str(tmp_path / "absent.toml"), "config-check", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert f"config ok ({config}): Register API v1" in result.stdout


def test_doctor_says_when_no_reader_is_configured(tmp_path: Path) -> None:
    result = cli("doctor", "--config", str(write_config(tmp_path)))
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"PASS  config: {tmp_path}") for line in lines), result.stdout
    reader = [line for line in lines if line.startswith(("PASS  reader", "FAIL  reader"))]
    assert len(reader) == 1, result.stdout
    assert "reader: none configured" in reader[0]
    assert "[[readers]]" in reader[0]


@pytest.fixture(params=["stays", "hangs up"])
def web_server(request: pytest.FixtureRequest) -> Iterator[int]:
    """A port that answers like a web server (a printer's admin page, a wrong port): once,
    then it waits for more, or hangs up."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    hangs_up = request.param == "hangs up"

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    connection.recv(100)
                    connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                    while not hangs_up and connection.recv(100):
                        pass  # a keep-alive connection: read what comes until the client goes
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def test_doctor_says_a_device_that_answers_is_not_an_escpos_printer(
    tmp_path: Path, web_server: int
) -> None:
    printer = (
        f'[printer]\nkind = "network"\nhost = "127.0.0.1"\nport = {web_server}\n'
        "status_timeout_s = 1.0\n"
    )
    result = cli("doctor", "--config", str(write_config(tmp_path, printer)))
    assert result.returncode == 1
    text = result.stdout
    printer_line = text[text.index("FAIL  printer:") :]
    assert "answered 0x48 ('H')" in printer_line, text
    assert "not an ESC/POS printer" in printer_line
    assert "no reply" not in printer_line
    assert "check its power and cable" not in printer_line  # it answered: not the fix
    assert "9100" in printer_line


def test_status_help_names_every_exit_code() -> None:
    result = cli("status", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for code in ("0 healthy", "1 degraded", "2 the agent is not running", "3 cannot tell", "64 a"):
        assert code in text
    assert "3 cannot tell" in " ".join(cli("--help").stdout.split())


def test_a_busy_sandbox_port_names_the_option_run_has(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = cli(
            "run", "--sandbox", "--sandbox-port", str(port), "--state-dir", str(tmp_path / "s")
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--sandbox-port" in result.stderr
    assert "--port" not in result.stderr.replace("--sandbox-port", "")
    usage = cli("run", "--sandbox-port", "0", "--help")
    assert "--sandbox-port" in usage.stdout


def test_a_file_printer_keeps_the_receipt_print_test_wrote(tmp_path: Path) -> None:
    target = tmp_path / "receipts.bin"
    config = write_config(tmp_path, f'[printer]\nkind = "file"\npath = "{target}"\n')
    result = cli("print-test", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test receipt printed" in result.stdout
    data = target.read_bytes()
    assert data.startswith(b"\x1b@")  # the job's ESC @ and what follows are still there
    assert b"\x1dV" in data  # down to the cut


def test_demo_out_is_ignored_by_git() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", "check-ignore", "-q", "demo-out/receipt-01.png"], cwd=ROOT, check=False
    )
    assert result.returncode == 0, "demo-out/ (the demo's receipt previews) is not ignored"
