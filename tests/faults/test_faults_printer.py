"""The receipt printer failing under the real agent (fault suite): paper out in the middle
of a slip, cover open, the printer switched off, the printer silent. Sales go on and are
answered at once; after recovery every fresh receipt comes out; a receipt that waited longer
than ``[till] receipt_freshness_s`` is held, and printed only when the POS asks for a
reprint: the original (it never printed), with the QR the sale was answered with.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest

from drivers.virtual_printer import VirtualPrinter, VirtualState
from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess, wait_for
from tests.support.fault_support import tune
from tests.support.figures import note

pytestmark = pytest.mark.faults

#: longer than the printer worker's longest retry pause (printing.PrintTiming.retry_max_s,
#: 10 s), so a receipt sold just before recovery is still fresh when the worker looks again
FRESHNESS_S = 12.0
#: how long the test looks for a receipt after the printer is back (that retry pause, plus
#: a print, and a busy machine's room): a bound on the test, "never printed" past it
PRINTED_WITHIN_S = 30.0


@pytest.fixture(scope="module")
def agent(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    sandbox.reset()
    till = AgentProcess(tmp_path_factory.mktemp("till"), sandbox, "v3", receipt_wait_s=0)
    tune(till, "till", receipt_freshness_s=FRESHNESS_S)
    try:
        yield till.start()
    finally:
        till.close()


class Shift:
    """The POS's side of one scenario: the sales it made and how fast each was answered
    (a figure for the notes; that the answer did not wait for the printer is told by the
    order of events: each answer came while its slip had not printed)."""

    def __init__(self, agent: AgentProcess, name: str) -> None:
        self.agent = agent
        self.name = name
        self.answers: dict[str, dict[str, Any]] = {}
        self.slowest_s = 0.0

    def sell(self, count: int, tag: str) -> list[str]:
        sold = []
        for _ in range(count):
            sale_id = f"{self.name}-{tag}-{len(self.answers)}"
            started = time.monotonic()
            answer = self.agent.sell(sale_id, "9.99").raise_for_status().json()
            self.slowest_s = max(self.slowest_s, time.monotonic() - started)
            self.answers[sale_id] = answer
            sold.append(sale_id)
        return sold

    def qr(self, sale_id: str) -> bytes:
        url: str = self.answers[sale_id]["loyalty"]["qr_url"]
        return url.encode()


def printer_off(agent: AgentProcess) -> Callable[[], None]:
    """Switched off: nothing listens on its port; switched on: the same port again."""
    host, port = agent.printer.address
    agent.printer.stop()

    def switch_on() -> None:
        agent.printer = VirtualPrinter(host, port).start()

    return switch_on


def state(value: VirtualState) -> Callable[[AgentProcess], Callable[[], None]]:
    def fail(agent: AgentProcess) -> Callable[[], None]:
        agent.printer.state = value

        def recover() -> None:
            agent.printer.state = VirtualState.OK

        return recover

    return fail


def paper_out_mid_slip(agent: AgentProcess) -> Callable[[], None]:
    """The roll ends 150 bytes into the next slip (the header is printed, the rest held)."""
    agent.printer.run_out_of_paper_after(150)

    def new_roll() -> None:
        assert agent.printer.state is VirtualState.PAPER_OUT  # it did run out
        agent.printer.state = VirtualState.OK

    return new_roll


SCENARIOS: dict[str, tuple[Callable[[AgentProcess], Callable[[], None]], bool]] = {
    # name: (how the printer fails, whether sales wait long enough there to go stale)
    "paper-out": (paper_out_mid_slip, False),
    "cover-open": (state(VirtualState.COVER_OPEN), False),
    "printer-off": (printer_off, True),
    "silent": (state(VirtualState.SILENT), True),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_sales_go_on_and_receipts_come_out_after_recovery(
    name: str, agent: AgentProcess, sandbox: Sandbox
) -> None:
    fail, goes_stale = SCENARIOS[name]
    shift = Shift(agent, name)
    agent.wait_printed(shift.sell(1, "before")[0])  # the printer works before the fault
    recover = fail(agent)
    torn = shift.sell(1, "torn") if name == "paper-out" else []
    stale = shift.sell(2, "stale") if goes_stale else []
    if goes_stale:
        time.sleep(FRESHNESS_S + 0.5)
    else:
        time.sleep(2.0)  # long enough for the worker to find the printer down
    fresh = shift.sell(3, "fresh")
    # nothing came out: each of these sales was answered, the agent printing its slip,
    # while the slip had not printed (the answer does not wait for the printer)
    assert not any(agent.printed_for(sale) for sale in fresh + stale)
    assert {shift.answers[sale]["receipt"] for sale in torn + fresh + stale} == {"printing"}
    for sale_id in torn:  # cut off mid-slip: part of it printed, the rest in the buffer
        (job,) = [j for j in agent.printer.jobs() if f"Sale {sale_id}".encode() in j.data]
        assert job.printed, job
        assert job.held, job
    recover()
    recovered = time.monotonic()

    for sale_id in torn + fresh:
        original = agent.wait_printed(sale_id, PRINTED_WITHIN_S)
        assert b"COPY" not in original
        assert shift.qr(sale_id) in original
    printed_after_s = time.monotonic() - recovered
    time.sleep(1.0)  # a stale slip, were it printed, would come with the fresh ones
    held = {j["sale_id"]: j["state"] for j in agent.journal_rows("print_jobs")}
    assert [(sale, held[sale], agent.printed_for(sale)) for sale in stale] == [
        (sale, "held", []) for sale in stale
    ]
    for sale_id in stale:
        agent.http.post(f"/v1/sales/{sale_id}/reprint").raise_for_status()
        (slip,) = wait_for(partial(agent.printed_for, sale_id), 30, f"{sale_id}'s reprint")
        assert b"COPY" not in slip  # it never printed: the original, not a copy
        assert shift.qr(sale_id) in slip
    note(
        f"printer {name}",
        sales=len(shift.answers),
        slowest_answer_s=shift.slowest_s,
        fresh_printed=len(torn + fresh),
        printed_after_recovery_s=printed_after_s,
        held_then_reprinted=len(stale),
    )
