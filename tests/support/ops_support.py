"""A real agent process for the operations tests (review, export/import, metrics): its
config file, its secrets by environment, and the CLI run as an installer runs it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.support.ports import free_port

LOCAL_TOKEN = "ops-local-api-token-0123456789"
TOKEN_SECRET = "sandbox-token-secret"
ROOT = Path(__file__).resolve().parents[2]


def write_config(
    directory: Path,
    *,
    base_url: str,
    version: str,
    metrics_port: int | None = None,
    extra: str = "",
) -> Path:
    """A config for one agent in ``directory`` (state in ``directory/state``)."""
    directory.mkdir(parents=True, exist_ok=True)
    metrics = f"127.0.0.1:{metrics_port}" if metrics_port else ""
    path = directory / "config.toml"
    path.write_text(
        f'[api]\nversion = "{version}"\nbase_url = "{base_url}"\nread_timeout_s = 1.0\n'
        f'connect_timeout_s = 0.5\n\n[state]\ndirectory = "{directory / "state"}"\n\n'
        '[till]\nprints = "pos"\nreceipt_wait_s = 0.2\n\n'
        "[outbox]\nbackoff_base_s = 0.2\nbackoff_max_s = 0.5\nunknown_delay_s = 0.1\n\n"
        f'[local_api]\nlisten = "127.0.0.1:{free_port()}"\nmetrics_listen = "{metrics}"\n' + extra,
        encoding="utf-8",
    )
    return path


def environment(api_key: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REGISTER_AGENT_API__API_KEY": api_key,
        "REGISTER_AGENT_API__LOYALTY_TOKEN_SECRET": TOKEN_SECRET,
        "REGISTER_AGENT_LOCAL_API__TOKEN": LOCAL_TOKEN,
    }


def cli(config: Path, *args: str, api_key: str = "unused", timeout: float = 20) -> str:
    """``register-agent --config CONFIG ARGS...`` as a process; its output (must exit 0)."""
    done = subprocess.run(
        [sys.executable, "-m", "register_agent", "--config", str(config), *args],
        env=environment(api_key),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class AgentProcess:
    """``register-agent run`` in a subprocess; ready once its local API answers."""

    def __init__(self, config: Path, api_key: str, *, env: dict[str, str] | None = None) -> None:
        self.config = config
        listen = next(
            line.split('"')[1] for line in config.read_text().splitlines() if "listen =" in line
        )
        self.url = f"http://{listen}"
        self.log = config.parent / "agent.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "register_agent", "--config", str(config), "run"],
                env={**environment(api_key), **(env or {})},  # a test hook, a crash point
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {LOCAL_TOKEN}"}, timeout=5
        )
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the agent exited: {self.log.read_text()}")
            try:
                if self.http.get("/v1/status").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the agent did not become ready: {self.log.read_text()}")

    def sell(self, sale_id: str, amount: str, card: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"sale_id": sale_id, "amount": amount, "print_receipt": False}
        if card:
            body["customer_card"] = card
        response = self.http.post("/v1/sales", json=body)
        assert response.status_code in (200, 201, 202), response.text
        answer: dict[str, Any] = response.json()
        return answer

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def journal_rows(config: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the agent's journal directly (read-only), as a test's independent witness."""
    path = config.parent / "state" / "journal.sqlite3"
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def wait_for(check: Callable[[], Any], timeout_s: float = 10.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
