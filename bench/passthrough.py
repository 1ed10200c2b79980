"""The receipt pass-through: the time a till's job spends between the till and the printer,
through the real agent (``[passthrough]`` on, a loyalty block added before the cut) and
through a bare byte relay (a select loop that forwards both ways, nothing else) measured in
the same run against the same TCP printer. A text receipt and one with a 60 KB raster logo;
each job is a new receipt (its own sale, a v3 QR minted on the till). The clock runs from
the till's connect to the printer holding the whole job and its connection closed.

Also the gap in printing when the agent dies: a ``kill -9``, then the time from the
process's start to the pass-through port taking the till's connection again; systemd adds
the unit's ``RestartSec`` before that start.
"""

from __future__ import annotations

import contextlib
import selectors
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.agent_process import AgentProcess, free_port
from bench.measure import TWICE, Figure, percentile
from drivers.virtual_printer import VirtualPrinter
from register_agent.sandbox import start_sandbox

JOBS = 100
UNIT = Path(__file__).resolve().parents[1] / "systemd" / "register-agent.service"


def run(jobs: int = JOBS) -> list[Figure]:
    sandbox = start_sandbox(port=0)
    try:
        with tempfile.TemporaryDirectory() as directory, VirtualPrinter() as printer:
            return _measure(Path(directory), sandbox.url, printer, jobs)
    finally:
        sandbox.stop()


def _measure(directory: Path, api_url: str, printer: VirtualPrinter, jobs: int) -> list[Figure]:
    host, port = printer.address
    till_port = free_port()
    extra = (
        f'[printer]\nkind = "network"\nhost = "{host}"\nport = {port}\n'
        f'[passthrough]\nenabled = true\nlisten = "127.0.0.1:{till_port}"\n'
    )
    agent = AgentProcess(directory, api_url, extra=extra)
    agent.start()
    bare = _BareRelay(printer.address)
    figures: list[Figure] = []
    try:
        for kind, make in (("text", _text_receipt), ("60 KB raster", _raster_receipt)):
            through_agent = _time_jobs(printer, ("127.0.0.1", till_port), make, jobs, "a")
            through_bare = _time_jobs(printer, bare.address, make, jobs, "b")
            for share in (0.5, 0.99):
                name = f"pass-through, {kind} receipt with block, p{round(share * 100)}"
                figures.append(
                    Figure(
                        name,
                        percentile(through_agent, share) * 1000,
                        percentile(through_bare, share) * 1000,
                        "ms",
                        "bare byte relay, same job",
                        TWICE,
                    )
                )
        blocks = sum(b"\x1d(k" in job.data for job in printer.jobs())
        if blocks < 2 * jobs:
            raise RuntimeError(f"only {blocks} of {2 * jobs} jobs got a block: see the agent's log")
        figures.append(_restart(agent, till_port))
    finally:
        bare.stop()
        agent.stop()
    return figures


def _time_jobs(
    printer: VirtualPrinter,
    till: tuple[str, int],
    make: Callable[[str], bytes],
    jobs: int,
    tag: str,
) -> list[float]:
    samples = []
    for number in range(jobs):
        job = make(f"{tag}{number}")
        before = len(printer.jobs())
        started = time.perf_counter()
        with socket.create_connection(till) as connection:
            connection.sendall(job)
            connection.shutdown(socket.SHUT_WR)
            ok = printer.wait_until(_closed_after(before), 10)
            samples.append(time.perf_counter() - started)
            while connection.recv(4096):
                pass
        if not ok:
            raise RuntimeError("the printer did not get the job")
    return samples


def _closed_after(before: int) -> Callable[[VirtualPrinter], bool]:
    def closed(printer: VirtualPrinter) -> bool:
        jobs = printer.jobs()
        return len(jobs) > before and jobs[-1].closed

    return closed


def _restart(agent: AgentProcess, till_port: int) -> Figure:
    """kill -9, then start to the till's port accepting; baseline: the unit's RestartSec."""
    assert agent.process is not None
    agent.process.send_signal(signal.SIGKILL)
    agent.process.wait(10)
    started = time.perf_counter()
    agent.start()
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", till_port), 1):
            break
        time.sleep(0.01)
    back = time.perf_counter() - started
    restart_s = next(
        float(line.split("=")[1].rstrip("s"))
        for line in UNIT.read_text(encoding="utf-8").splitlines()
        if line.startswith("RestartSec=")
    )
    return Figure(
        "printing down after kill -9: start to the till's port (systemd waits RestartSec first)",
        back,
        restart_s,
        "s",
        "RestartSec of the unit",
    )


def _text_receipt(number: str) -> bytes:
    lines = [
        "Bakkerij de Gouden Korst",
        f"Bon {number}   2026-12-05 10:{len(number):02d}",
        *(f"Broodje kaas {n:>2}        3,50" for n in range(12)),
        "TOTAAL                 42,00",
        "Bedankt en tot ziens",
    ]
    body = "\n".join(lines).encode("cp858") + b"\n"
    return b"\x1b@\x1bt\x13" + body + b"\n\n\n\x1dVA\x03"


def _raster_receipt(number: str) -> bytes:
    width_bytes, height = 72, 834  # 576 dots wide: 60 KB of image
    image = bytes((row * 7 + col) % 251 for row in range(height) for col in range(width_bytes))
    raster = b"\x1dv0\x00" + bytes([width_bytes, 0, height % 256, height // 256]) + image
    text = _text_receipt(number)
    return text[:5] + raster + text[5:]


class _BareRelay:
    """The baseline: accept, connect to the printer, forward both ways until EOF."""

    def __init__(self, printer: tuple[str, int]) -> None:
        self._printer = printer
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = self._server.getsockname()[:2]
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                till, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(till,), daemon=True).start()

    def _relay(self, till: socket.socket) -> None:
        printer = socket.create_connection(self._printer)
        for end in (till, printer):
            end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        selector = selectors.DefaultSelector()
        selector.register(till, selectors.EVENT_READ, printer)
        selector.register(printer, selectors.EVENT_READ, till)
        open_ends = 2
        while open_ends:
            for key, _ in selector.select():
                chunk = key.fileobj.recv(65536)  # type: ignore[union-attr]
                if chunk:
                    key.data.sendall(chunk)
                    continue
                selector.unregister(key.fileobj)
                open_ends -= 1
                with contextlib.suppress(OSError):
                    key.data.shutdown(socket.SHUT_WR)
        till.close()
        printer.close()
