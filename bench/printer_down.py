"""The sale's answer while the receipt printer is silent, against the same agent's answer
while the printer works, in the same run: the answer never waits for the printer, so the
ratio stays near 1. The fault suite checks the order of events (each sale answered while
its slip had not printed); how long an answer takes is this figure's to say, not a test's."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.agent_process import AgentProcess
from bench.measure import Figure, median, percentile, time_calls
from drivers.virtual_printer import VirtualPrinter, VirtualState
from register_agent.sandbox import start_sandbox

BASELINE = "the same agent, its printer working"


def run(sales: int = 100) -> list[Figure]:
    sandbox = start_sandbox(port=0)
    try:
        with VirtualPrinter() as printer, tempfile.TemporaryDirectory() as directory:
            host, port = printer.address
            agent = AgentProcess(
                Path(directory),
                sandbox.url,
                prints="receipt",
                extra=(
                    f'[printer]\nkind = "network"\nhost = "{host}"\nport = {port}\n'
                    "timeout_s = 0.5\nstatus_timeout_s = 0.5\n"
                    f'capabilities_cache_dir = "{Path(directory) / "cache"}"\n'
                ),
            )
            agent.start()
            try:
                working = _answers(agent, "printing", sales)
                printer.state = VirtualState.SILENT  # answers no status query, prints nothing
                silent = _answers(agent, "silent", sales)
            finally:
                agent.stop()
    finally:
        sandbox.stop()
    return [
        Figure(
            "sale answer, printer silent, p50",
            median(silent) * 1000,
            median(working) * 1000,
            "ms",
            BASELINE,
        ),
        Figure(
            "sale answer, printer silent, p99",
            percentile(silent, 0.99) * 1000,
            percentile(working, 0.99) * 1000,
            "ms",
            BASELINE,
        ),
    ]


def _answers(agent: AgentProcess, tag: str, count: int) -> list[float]:
    numbers = iter(range(count))
    return time_calls(lambda: agent.sell(f"{tag}-{next(numbers)}"), count)
