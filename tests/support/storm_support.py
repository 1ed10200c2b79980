"""The fault suite's storm, its POS and its books: a POS that sends every sale, refund and
reward claim again (same id, same body) until it has a definitive answer, restarting the
agent like systemd when a power cut took it, and checking its journal after each restart;
and the reading of the sandbox's ledger against what the POS was answered.

What the POS does with each answer (the local API's docs leave it to the POS):

- a transport error (the agent died, or its answer never came): the request may or may
  not have been recorded, so it is sent again unchanged; a dead agent is restarted first.
- ``503`` (``offline``, ``stopping``, ``disk_full``): nothing was kept or the claim was
  not sent; sent again unchanged after a moment. A real POS would let the cashier go on
  and retry in the background; the storm's POS simply waits.
- ``500 internal_error``: the agent failed; sent again, and counted, since it is a defect.
- ``409 claim_not_confirmed``: the claim's answer was lost and the till is finding out;
  the POS parks the claim and asks again later, under the same claim id and body, until
  the answer is a success or a refusal (or a person must decide: ``review``).
- anything else is definitive: a success, or a refusal that made nothing.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.agent_harness import AgentProcess

#: answers the POS sends again as they are (nothing was decided)
RESEND_CODES = {503, 500}
#: a POS gives up on a request after this many sends: the agent is broken, not busy
MAX_SENDS = 100


@dataclass
class Book:
    """What the POS was answered: by sale id, refund id and claim id."""

    sales: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)  # refund id -> answer
    claims: dict[str, httpx.Response] = field(default_factory=dict)  # claim id -> definitive
    parked: set[str] = field(default_factory=set)  # claim ids answered claim_not_confirmed
    lost_answers: set[str] = field(default_factory=set)  # ever answered claim_not_confirmed


class Pos:
    """One till's POS, sending one request at a time like a checkout does."""

    def __init__(self, agent: AgentProcess) -> None:
        self.agent = agent
        self.book = Book()
        self.resent = 0  # requests sent more than once
        self.agent_errors: list[str] = []  # 500s: the agent failed
        self.restarts = 0
        self._cuts: list[threading.Thread] = []

    def send(self, request: Callable[[], httpx.Response]) -> httpx.Response:
        """``request`` until its answer is definitive (or ``claim_not_confirmed``)."""
        for sends in range(MAX_SENDS):
            if sends:
                self.resent += 1
            try:
                answer = request()
            except httpx.TransportError:
                if not self.agent.running:
                    self.restart()
                else:  # a cut under way, not yet reaped: the refusals come in a burst
                    time.sleep(0.1)
                continue
            if answer.status_code == 500:
                self.agent_errors.append(answer.text)
            if answer.status_code in RESEND_CODES:
                time.sleep(0.2)
                continue
            return answer
        raise AssertionError(f"no definitive answer after {MAX_SENDS} sends:\n{self.tail()}")

    def tail(self) -> str:
        return self.agent.log()[-3000:]

    # --- power cuts and systemd ------------------------------------------------------------

    def cut_after(self, after_s: float) -> None:
        """A power cut ``after_s`` from now, aimed at a live process no earlier cut is
        aimed at: every cut planned is one ``kill -9`` of a running agent."""
        for cut in self._cuts:
            cut.join()
        if not self.agent.running:
            self.restart()
        assert self.agent.process is not None
        cut = threading.Timer(after_s, _power_cut, (self.agent.process,))
        self._cuts.append(cut)
        cut.start()

    def settle_cuts(self) -> None:
        """Every planned cut happened; the agent runs again."""
        for cut in self._cuts:
            cut.join()
        if not self.agent.running:
            self.restart()

    def restart(self) -> None:
        """What systemd's Restart= does; then the journal is checked: sound, and holding
        everything the POS was answered before the cut."""
        self.agent.wait_exit(10)
        self.agent.start()
        self.restarts += 1
        assert self.agent.integrity() == "ok"
        sales = {row["sale_id"] for row in self.agent.journal_rows("sales")}
        assert set(self.book.sales) <= sales, set(self.book.sales) - sales
        refunds = {row["refund_id"] for row in self.agent.journal_rows("refunds")}
        assert set(self.book.refunds) <= refunds, set(self.book.refunds) - refunds
        claims = {row["claim_id"]: row["state"] for row in self.agent.journal_rows("reward_claims")}
        made = [cid for cid, answer in self.book.claims.items() if answer.status_code == 200]
        assert all(claims.get(cid) == "done" for cid in made), {c: claims.get(c) for c in made}


def _power_cut(process: subprocess.Popen[bytes]) -> None:
    # Popen's own send_signal is a no-op once the process was reaped; then wait for it
    # to be gone, so that a cut scheduled meanwhile is not aimed at the dying process
    process.send_signal(signal.SIGKILL)
    process.wait(10)
