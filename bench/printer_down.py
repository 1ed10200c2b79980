"""The sale's answer while the receipt printer is silent, against the same agent's answer
while the printer works, in the same run: the answer never waits for the printer, so the
ratio stays near 1. The fault suite checks the order of events (each sale answered while
its slip had not printed); how long an answer takes is this figure's to say, not a test's."""

from __future__ import annotations

from bench.agent_process import AgentProcess, sandbox_and_directory
from bench.measure import Figure, answer_figures
from drivers.virtual_printer import VirtualPrinter, VirtualState

BASELINE = "the same agent, its printer working"


def run(sales: int = 100) -> list[Figure]:
    with sandbox_and_directory() as (sandbox, directory), VirtualPrinter() as printer:
        host, port = printer.address
        agent = AgentProcess(
            directory,
            sandbox.url,
            prints="receipt",
            extra=(
                f'[printer]\nkind = "network"\nhost = "{host}"\nport = {port}\n'
                "timeout_s = 0.5\nstatus_timeout_s = 0.5\n"
                f'capabilities_cache_dir = "{directory / "cache"}"\n'
            ),
        )
        agent.start()
        try:
            working, _ = agent.time_sales("printing", sales)
            printer.state = VirtualState.SILENT  # answers no status query, prints nothing
            silent, _ = agent.time_sales("silent", sales)
        finally:
            agent.stop()
    names = ("sale answer, printer silent, p50", "sale answer, printer silent, p99")
    return answer_figures(names, silent, working, BASELINE)
