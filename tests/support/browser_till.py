"""A real agent process for the tests of browser access (sessions, CSRF, CORS, stream
tickets, TLS) and of the counter's rules: the sandbox Register API over loopback, a
network printer that records bytes, the local API token and the counter PIN given as
systemd credentials, and whatever ``[local_api]`` / ``[till]`` keys the test adds.

``restart(token=...)`` stops the agent and starts it again on the same state directory
and port, with a new token when given (the installer rotating it)::

    with browser_till(tmp_path, sandbox, local_api='cors_origins = ["http://x:1"]') as till:
        answer = till.http().post("/v1/counter/session", json={"token": till.token})
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from drivers.virtual_printer import VirtualPrinter
from tests.conftest import Sandbox
from tests.support.agent_process import (
    TOKEN_SECRET,
    AgentProcess,
    Notifications,
    wait_until,
    write_config,
    write_credentials,
)
from tests.support.ports import free_port

TOKEN = "counter-test-local-api-token-7f3a9b21"
PIN = "482913"


@dataclass
class BrowserTill:
    directory: Path
    sandbox: Sandbox
    printer: VirtualPrinter
    port: int
    local_api: str
    till: str
    token: str = TOKEN
    pin: str = PIN
    scheme: str = "http"
    agent: AgentProcess | None = None
    logs: list[str] = field(default_factory=list)
    _runs: int = 0

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return self.url

    def start(self) -> None:
        self._runs += 1
        config = write_config(
            self.directory,
            base_url=self.sandbox.url,
            printer_port=self.printer.address[1],
            api_port=self.port,
        )
        text = config.read_text(encoding="utf-8")
        text = text.replace("[local_api]\n", f"[local_api]\n{self.local_api}\n")
        text = text.replace("[till]\n", f"[till]\n{self.till}\n")
        config.write_text(text, encoding="utf-8")
        credentials = write_credentials(
            self.directory / "credentials",
            {
                "api-key": self.sandbox.v3_key,
                "loyalty-token-secret": TOKEN_SECRET,
                "local-api-token": self.token,
                "counter-pin": self.pin,
            },
        )
        notifications = Notifications(self.directory / f"notify-{self._runs}")
        self.agent = AgentProcess(
            config,
            notify=notifications.path,
            watchdog_usec=10_000_000,
            env={"CREDENTIALS_DIRECTORY": str(credentials)},
            log=self.directory / f"agent-{self._runs}.log",
            verbose=True,
        )
        agent = self.agent
        try:
            # ready, or ended (a refused config): a failed start need not wait the bound out
            wait_until(
                lambda: "READY=1" in notifications.lines() or agent.process.poll() is not None,
                30,
                "the agent's start",
            )
        finally:
            notifications.close()
        if "READY=1" not in notifications.lines():
            self.stop()
            raise AssertionError(f"the agent did not start:\n{self.output()}")

    def stop(self) -> None:
        if self.agent is not None:
            if self.agent.process.poll() is None:
                self.agent.signal(signal.SIGTERM)
            self.agent.stop()
            self.logs.append(self.agent.output())
            self.agent._log_file.close()
            self.agent = None

    def restart(self, *, token: str | None = None) -> None:
        self.stop()
        self.token = token or self.token
        self.start()

    def output(self) -> str:
        """Every log line of every run so far."""
        current = [self.agent.output()] if self.agent is not None else []
        return "".join(self.logs + current)

    def http(self, **options: object) -> httpx.Client:
        """A client with no credential: each test says what it sends."""
        return httpx.Client(base_url=self.url, timeout=5, **options)  # type: ignore[arg-type]

    def bearer(self) -> httpx.Client:
        return self.http(headers={"Authorization": f"Bearer {self.token}"})


@contextlib.contextmanager
def browser_till(
    directory: Path, sandbox: Sandbox, *, local_api: str = "", till: str = "", scheme: str = "http"
) -> Iterator[BrowserTill]:
    with VirtualPrinter() as printer:
        running = BrowserTill(
            directory, sandbox, printer, free_port(), local_api, till, scheme=scheme
        )
        running.start()
        try:
            yield running
        finally:
            running.stop()
