"""The real agent as systemd runs it: ``python -m register_agent --config CFG run`` in its own
process, with a notify socket the test owns standing in for systemd (an ``AF_UNIX``
datagram socket named by ``NOTIFY_SOCKET``: no systemd needed), credentials in a
``$CREDENTIALS_DIRECTORY`` and the logs kept in a file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
JAN_CARD = "A1B2C3D4"
TOKEN_SECRET = "sandbox-token-secret"


@dataclass
class Notifications:
    """What the agent told "systemd": every datagram with the monotonic time it came."""

    path: Path
    received: list[tuple[float, str]] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(self.path))
        self._socket.settimeout(0.2)
        self._open = True
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while self._open:
            try:
                data = self._socket.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.received.append((time.monotonic(), data.decode()))
                self._lock.notify_all()

    def lines(self) -> list[str]:
        with self._lock:
            return [line for _, text in self.received for line in text.splitlines()]

    def wait_for(self, line: str, timeout_s: float = 10.0, *, after: int = 0) -> int:
        """Index (in ``received``) of the first datagram from ``after`` on with ``line``."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                for index, (_, text) in enumerate(self.received[after:], start=after):
                    if line in text.splitlines():
                        return index
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {line} within {timeout_s} s: {self.received}")
                self._lock.wait(left)

    def times_of(self, line: str, since: float = 0.0) -> list[float]:
        with self._lock:
            return [at for at, text in self.received if at >= since and line in text.split()]

    def close(self) -> None:
        self._open = False
        self._socket.close()
        self._thread.join(2)


def write_config(
    directory: Path,
    *,
    base_url: str,
    printer_port: int,
    api_port: int,
    version: str = "v3",
    extra: str = "",
) -> Path:
    """A till's config.toml: a network printer, short backoffs, the local API on a port."""
    state = directory / "state"
    state.mkdir(exist_ok=True)
    path = directory / "config.toml"
    path.write_text(
        f"""
[api]
version = "{version}"
base_url = "{base_url}"
loyalty_token_base_url = "{base_url}"
connect_timeout_s = 0.5
read_timeout_s = 2.0

[state]
directory = "{state}"

[till]
receipt_wait_s = 0.3

[outbox]
backoff_base_s = 0.2
backoff_max_s = 0.5
unknown_delay_s = 0.2

[local_api]
listen = "127.0.0.1:{api_port}"
metrics_listen = ""

[printer]
kind = "network"
host = "127.0.0.1"
port = {printer_port}
timeout_s = 0.5
status_timeout_s = 0.5
capabilities_cache_dir = "{directory / "cache"}"
{extra}
""",
        encoding="utf-8",
    )
    return path


def write_credentials(directory: Path, values: Mapping[str, str]) -> Path:
    """A ``$CREDENTIALS_DIRECTORY`` as systemd's LoadCredential= makes it."""
    directory.mkdir(exist_ok=True)
    for name, value in values.items():
        (directory / name).write_text(value + "\n", encoding="utf-8")
    return directory


class AgentProcess:
    """One ``register-agent run``; stdout and stderr go to ``log`` (no pipe to fill)."""

    def __init__(
        self,
        config: Path,
        *,
        notify: Path,
        watchdog_usec: int,
        env: Mapping[str, str],
        log: Path,
        verbose: bool = False,
        entry: Sequence[str] = ("-m", "register_agent"),
    ) -> None:
        environ = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("REGISTER_AGENT_", "NOTIFY_", "WATCHDOG_", "JOURNAL_"))
            and key != "CREDENTIALS_DIRECTORY"
        }
        environ.update(
            {
                "NOTIFY_SOCKET": str(notify),
                "WATCHDOG_USEC": str(watchdog_usec),
                "PYTHONPATH": str(ROOT),
                **env,
            }
        )
        # entry: how Python starts the agent (support/hardened_launcher.py: under restrictions)
        command = [sys.executable, *entry, "--config", str(config)]
        command += ["-v"] if verbose else []
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [*command, "run"],
            env=environ,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )

    def signal(self, number: signal.Signals) -> None:
        self.process.send_signal(number)

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM, and the exit status (a hang is killed and fails the test)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(f"the agent did not stop within {timeout_s} s") from None
        finally:
            self._log_file.close()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def running_agent(
    config: Path, notifications: Notifications, **options: Any
) -> Iterator[AgentProcess]:
    agent = AgentProcess(config, notify=notifications.path, **options)
    try:
        yield agent
    finally:
        if agent.process.poll() is None:
            agent.process.kill()
            agent.process.wait(5)
        agent._log_file.close()


def local_api(port: int, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def wait_until(check: Any, timeout_s: float, what: str, pause_s: float = 0.1) -> Any:
    """Poll ``check()`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(pause_s)
    raise AssertionError(f"{what}: not within {timeout_s} s")
