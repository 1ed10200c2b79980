"""The running agent, measured from outside like a POS would: start to READY=1, resident
memory, sale acknowledgement latency, scan to "customer identified", and the outbox's
drain rate after an outage. Baselines are measured in the same run (bench/README.md)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import tty
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench import drain, sale_floor
from bench.agent_process import TOKEN, AgentProcess, rss_mb, sandbox_and_directory
from bench.measure import MEMORY, TWICE, Figure, Goal, answer_figures, median
from register_agent.sandbox import SandboxHandle

CARDS = ("A1B2C3D4", "B2C3D4E5", "C3D4E5F6", "04A2241A6B5E80")
IMPORTS_ONLY = (
    "import os, socket, sys, time; import httpx, pydantic_settings, serial, "
    "fastapi, uvicorn, escpos.printer; "
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
    "s.sendto(b'READY=1', os.environ['NOTIFY_SOCKET']); time.sleep(float(sys.argv[1]))"
)


def run(sales: int = 1_000, queued: int = 10_000, spaced: int = 120) -> list[Figure]:
    """``spaced``: the pairs of sales made one customer at a time during the drain."""
    with sandbox_and_directory() as (sandbox, directory):
        return _measure(directory, sandbox, sales, queued, spaced)


def _measure(
    directory: Path, sandbox: SandboxHandle, sales: int, queued: int, spaced: int
) -> list[Figure]:
    figures = []
    baseline_ready, baseline_rss = _imports_only(directory)
    agent = AgentProcess(directory, sandbox.url)
    with _notify_socket(directory) as notify:
        started = time.perf_counter()
        agent.start({"NOTIFY_SOCKET": notify.getsockname()})
        notify.settimeout(30)
        while notify.recv(4096).split(b"\n")[0] != b"READY=1":
            pass
        ready = time.perf_counter() - started
    try:
        time.sleep(1.0)
        idle_rss = agent.rss_mb()
        figures.append(
            Figure("start to READY=1", ready, baseline_ready, "s", "imports only", TWICE)
        )
        figures.append(
            Figure("resident memory, idle", idle_rss, baseline_rss, "MB", "imports only", MEMORY)
        )
        figures += _sale_latency(agent, sandbox.url, directory, sales)
        figures += _scan_to_customer(agent, sandbox)
    finally:
        agent.stop()
    return figures + drain.run(queued=queued, sales=sales, floor_rss=baseline_rss, spaced=spaced)


def _imports_only(directory: Path) -> tuple[float, float]:
    """The floor: a process that imports what the agent imports and says READY=1."""
    with _notify_socket(directory, "floor") as notify:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", IMPORTS_ONLY, "3"],
            env={**os.environ, "NOTIFY_SOCKET": notify.getsockname()},
        )
        notify.settimeout(30)
        notify.recv(64)
        ready = time.perf_counter() - started
        time.sleep(0.5)
        rss = rss_mb(process.pid)
        process.wait(10)
    return ready, rss


@contextmanager
def _notify_socket(directory: Path, name: str = "notify") -> Iterator[socket.socket]:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(directory / name))
    try:
        yield listener
    finally:
        listener.close()


def _sale_latency(agent: AgentProcess, api_url: str, directory: Path, count: int) -> list[Figure]:
    no_card, with_card = agent.time_sales("latency", count, CARDS)
    floor = sale_floor.without_card(agent, api_url, directory, count)
    name = "one FULL-sync SQLite commit + one empty local API request"
    card_floor = sale_floor.with_card(agent, api_url, directory, CARDS, count)
    card_name = f"{name} + the sale's three Register API requests, bare"
    handed = "on an event loop, the commit handed to a writer thread and awaited"
    return (
        answer_figures(
            ("sale answer, no card (v3 token QR), p50", "sale answer, no card, p99"),
            no_card,
            floor,
            name,
            (None, TWICE),
        )
        + answer_figures(
            (
                "sale answer, no card, p50, against the floor on an event loop",
                "sale answer, no card, p99, against the floor on an event loop",
            ),
            no_card,
            sale_floor.without_card(agent, api_url, directory, count, handed=True),
            f"the same, {handed}",
        )
        + answer_figures(
            (
                "sale answer, with card (credited within the wait), p50",
                "sale answer, with card, p99",
            ),
            with_card,
            card_floor,
            card_name,
            (Goal("at most", 1.3), None),
        )
        + answer_figures(
            (
                "sale answer, with card, p50, against the floor with the agent's four commits",
                "sale answer, with card, p99, against the floor with the agent's four commits",
            ),
            with_card,
            sale_floor.with_card(agent, api_url, directory, CARDS, count, commits=4),
            "the same floor with four FULL-sync commits (sale, in flight, done, answer kept)",
        )
        + answer_figures(
            (
                "sale answer, with card, p50, against the floor on an event loop with four commits",
                "sale answer, with card, p99, against the floor on an event loop with four commits",
            ),
            with_card,
            sale_floor.with_card(agent, api_url, directory, CARDS, count, commits=4, handed=True),
            "the same floor on an event loop: each commit handed to a writer thread and "
            "awaited, the requests on httpx's async client (the agent's)",
        )
    )


def _scan_to_customer(agent: AgentProcess, sandbox: SandboxHandle) -> list[Figure]:
    events = _EventReader(agent)
    identified, complete = [], []
    for number in range(30):
        agent.request("DELETE", "/v1/customer")
        events.clear()
        started = time.perf_counter()
        agent.scan(CARDS[number % len(CARDS)])
        events.wait_for(b"event: customer_identified")
        identified.append(time.perf_counter() - started)
        events.wait_for(b"event: customer")  # then the balance and rewards, read after it
        complete.append(time.perf_counter() - started)
        time.sleep(2.1)  # past the debounce window: the same card again is a new scan
    floor = median(_pty_and_lookup(sandbox)) * 1000
    baseline = "raw pty round trip + one identifier lookup"
    return [
        Figure(
            "scan to 'customer identified' event",
            median(identified) * 1000,
            floor,
            "ms",
            baseline,
            Goal("over", 5),
        ),
        Figure(
            "scan to 'customer' event (balance and rewards read)",
            median(complete) * 1000,
            floor,
            "ms",
            baseline,
        ),
    ]


def _pty_and_lookup(sandbox: SandboxHandle) -> list[float]:
    master, slave = os.openpty()
    tty.setraw(slave)
    samples = []
    with httpx.Client(
        base_url=sandbox.url, headers={"Authorization": "Bearer sandbox-v3-key"}
    ) as http:
        for number in range(30):
            started = time.perf_counter()
            os.write(master, CARDS[number % len(CARDS)].encode() + b"\r")
            os.read(slave, 64)
            http.get(
                "/api/v3/register/contact-identifiers/find",
                params={"contact_identifier_value": CARDS[number % len(CARDS)]},
            )
            samples.append(time.perf_counter() - started)
    os.close(master)
    os.close(slave)
    return samples


class _EventReader:
    """Reads the agent's server-sent events in a thread; ``wait_for`` a line."""

    def __init__(self, agent: AgentProcess) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{agent.port}/v1/events",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        self._stream = urllib.request.urlopen(request, timeout=30)  # noqa: S310 (loopback)
        self._lines: list[bytes] = []
        self._seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._stream:
            with self._seen:
                self._lines.append(line.strip())
                self._seen.notify_all()

    def clear(self) -> None:
        with self._seen:
            self._lines.clear()

    def wait_for(self, wanted: bytes) -> None:
        with self._seen:
            if not self._seen.wait_for(lambda: wanted in self._lines, timeout=10):
                raise RuntimeError(f"no {wanted!r} from the agent's event stream")
