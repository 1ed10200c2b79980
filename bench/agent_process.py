"""A real ``register-agent run`` process for the benchmarks: config file, secrets in its
environment, a pseudo-terminal reader, and the local API it answers on; the sandbox and the
directory it runs with, and the sales timed through it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tty
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from register_agent.sandbox import SandboxHandle, start_sandbox

TOKEN = "bench-local-api-token-0123456789"
#: the CPU the runner names for the agents of a module run on every core (bench/runner.py)
AGENT_CPU_ENV = "BENCH_AGENT_CPU"


@contextmanager
def sandbox_and_directory() -> Iterator[tuple[SandboxHandle, Path]]:
    """The sandbox on a port of its own and a directory for an agent's files, both gone after."""
    sandbox = start_sandbox(port=0)
    try:
        with tempfile.TemporaryDirectory() as directory:
            yield sandbox, Path(directory)
    finally:
        sandbox.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class AgentProcess:
    """Starts the agent against ``api_url`` with one pty reader; talks to its local API."""

    def __init__(
        self,
        directory: Path,
        api_url: str,
        *,
        version: str = "v3",
        prints: str = "pos",
        extra: str = "",
        cpus: str | None = None,
    ) -> None:
        self.directory = directory
        # ``taskset -c`` this agent alone (e.g. "0"): a one-core till beside a load that
        # is not the till's (the whole module pinned instead: ``--cores 1``, bench/runner.py;
        # on every core, the runner names the agent's CPU in the environment)
        cpus = cpus or os.environ.get(AGENT_CPU_ENV)
        #: the command prefix that starts a process where this agent runs (the floors' till)
        self.pin = [] if cpus is None else pinned_to(cpus)
        self.port = free_port()
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self._slave = slave
        key = "sandbox-v3-key" if version == "v3" else "sandbox-v1-key"
        self.config = directory / "config.toml"
        self.config.write_text(
            f'[api]\nversion = "{version}"\nbase_url = "{api_url}"\n'
            f'loyalty_token_base_url = "{api_url}"\n'
            f'[state]\ndirectory = "{directory / "state"}"\n'
            f'[till]\nreceipt_wait_s = 1.5\nprints = "{prints}"\n'
            "[outbox]\nbackoff_base_s = 0.05\nbackoff_max_s = 0.5\nunknown_delay_s = 0.05\n"
            f'[local_api]\nlisten = "127.0.0.1:{self.port}"\nmetrics_listen = ""\n'
            f'[[readers]]\nkind = "serial"\nname = "bench"\nport = "{os.ttyname(slave)}"\n' + extra,
            encoding="utf-8",
        )
        self.env = {
            **os.environ,
            "REGISTER_AGENT_API__API_KEY": key,
            "REGISTER_AGENT_API__LOYALTY_TOKEN_SECRET": "sandbox-token-secret",
            "REGISTER_AGENT_LOCAL_API__TOKEN": TOKEN,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, extra_env: dict[str, str] | None = None) -> float:
        """Start and wait until the local API answers; the seconds that took."""
        started = time.perf_counter()
        log = (self.directory / "agent.log").open("ab")
        self.process = subprocess.Popen(
            [
                *self.pin,
                sys.executable,
                "-m",
                "register_agent",
                "--config",
                str(self.config),
                "run",
            ],
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        while time.perf_counter() - started < 30:
            try:
                self.get("/v1/status")
                return time.perf_counter() - started
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"the agent did not start; see {self.directory / 'agent.log'}")

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:  # its high-water mark, read before it ends
                PEAKS_MB.append(peak_rss_mb(self.process.pid))
            self.process.terminate()
            self.process.wait(20)
        os.close(self.master)
        os.close(self._slave)

    def rss_mb(self) -> float:
        assert self.process is not None
        return rss_mb(self.process.pid)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
            raw = answer.read()
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def sell(self, sale_id: str, amount: str = "12.50", **extra: Any) -> Any:
        return self.request("POST", "/v1/sales", {"sale_id": sale_id, "amount": amount, **extra})

    def time_sales(
        self, prefix: str, count: int, cards: Sequence[str] = ()
    ) -> tuple[list[float], list[float]]:
        """The answer times (seconds) of ``count`` sales without a card and, given ``cards``,
        each followed by one with the next card: the two kinds side by side in time."""
        no_card: list[float] = []
        with_card: list[float] = []
        for number in range(count):
            started = time.perf_counter()
            self.sell(f"{prefix}-{number}")
            no_card.append(time.perf_counter() - started)
            if cards:
                started = time.perf_counter()
                self.sell(f"{prefix}-card-{number}", customer_card=cards[number % len(cards)])
                with_card.append(time.perf_counter() - started)
        return no_card, with_card

    def scan(self, value: str) -> None:
        os.write(self.master, value.encode() + b"\r")


def pinned_to(cpus: str) -> list[str]:
    """The command prefix that runs a process (and what it starts) on ``cpus`` only."""
    taskset = shutil.which("taskset")
    if taskset is None:
        raise SystemExit(
            "taskset was not found: it comes with util-linux (apt install util-linux); "
            "or run the benchmarks on every core (without --cores 1)"
        )
    return [taskset, "-c", cpus]


def rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmRSS:")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (its high-water mark, ``VmHWM``)."""
    return _status_mb(pid, "VmHWM:")


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


#: the peak resident memory of each agent process this benchmark process stopped, in MB:
#: the runner (``bench/runner.py``) reports the highest per benchmark module
PEAKS_MB: list[float] = []
