"""A stateful property test of the outbox against a model (fault suite).

Hypothesis plays a till: sales for a customer (by card) or for nobody, deliveries, a fault
on the next request (503, an answer dropped after the commit, a 500 after the commit,
60001), crashes (the journal closed mid-delivery: after the steps that apply nothing, or
before or after a request; reopened, what was in flight becomes unknown) and the clock
moving on. In process: a real journal
file, the real outbox and handlers, the real loyalty client over loopback to the sandbox.
At the end, faults off and the outbox drained: the sandbox's ledger must equal the model's.
v3: every customer's sale credited exactly once with its credits; v1: at most once, and a
sale not credited is in ``review`` (v1 cannot tell whether an ambiguous one landed).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from register_agent.journal import Journal, Operation, OperationState
from register_agent.journal.payloads import Payload
from register_agent.loyalty import set_testing
from register_agent.outbox.contract import (
    Delivered,
    OperationHandler,
    Prepares,
    Progress,
    Reconciled,
)
from register_agent.outbox.handlers import make_handlers
from register_agent.outbox.worker import Outbox
from tests.conftest import Sandbox
from tests.support.figures import note
from tests.support.operations_support import ACTIVE, SETTINGS, Till, loyalty_for
from tests.support.stored import stored

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

#: the seed's cards and their members (register_agent/sandbox/default_seed.toml)
CARDS = {"A1B2C3D4": 7731, "B2C3D4E5": 7732, "C3D4E5F6": 7733}
FAULTS = ["error_503", "drop_after_commit", "error_500_after_commit", "in_progress_60001"]
TARGETS = {
    "credit": {"paths": [r"/api/v[13]/register/credit-receptions$"], "methods": ["POST"]},
    "any": {"paths": ["/api/"]},
}
#: rounds of "deliver, then an hour later" that must settle everything once faults are off
QUIET_ROUNDS = 12


class Crash(BaseException):
    """The power cut: not an Exception, so nothing in the outbox catches it (as kill -9)."""


@dataclass
class CrashingHandler:
    """The real handler, with a power cut armed before or after its request (once)."""

    inner: OperationHandler
    armed: dict[str, str | None]

    async def prepare(self, operation: Operation) -> Payload | None:
        """The inner handler's steps that apply nothing (a POS transaction opened), then a
        power cut before the worker saved them with ``in_flight``, when armed."""
        prepared = None
        if isinstance(self.inner, Prepares):
            prepared = await self.inner.prepare(operation)
        self._maybe_crash("prepared")
        return prepared

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        self._maybe_crash("before_send")
        delivered = await self.inner.send(operation, progress)
        self._maybe_crash("after_send")
        return delivered

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        return await self.inner.reconcile(operation)

    def _maybe_crash(self, point: str) -> None:
        if self.armed["point"] == point:
            self.armed["point"] = None
            raise Crash(point)


@dataclass
class Sold:
    sale_id: str
    op_id: str
    card: str | None
    credits: int


@dataclass
class Tally:
    """Figures over every example of one run."""

    examples: int = 0
    sales: int = 0
    crashes: int = 0
    cut_mid_delivery: int = 0  # crashes that hit a handler before or after its request
    in_flight_at_restart: int = 0  # operations found in flight, so made unknown
    faults: int = 0
    lost: int = 0
    duplicated: int = 0
    states: Counter[str] = field(default_factory=Counter)


class OutboxModel(RuleBasedStateMachine):
    """See the module docstring; ``version``, ``sandbox`` and ``tally`` are set per run."""

    version = "v3"
    sandbox: Sandbox
    tally: Tally

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.sandbox.reset()
        self.directory = Path(tempfile.mkdtemp(prefix="outbox-model-"))
        self.path = self.directory / "journal.sqlite3"
        self.loyalty = loyalty_for(self.sandbox, self.version)
        self.armed: dict[str, str | None] = {"point": None}
        self.till = Till(Journal.open(self.path), self.sandbox, self.loyalty)
        self._use_crashing_handlers()
        self.sold: list[Sold] = []
        self.tally.examples += 1

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def _use_crashing_handlers(self) -> None:
        """A new outbox on the till's journal and clock, every handler able to crash."""
        handlers = make_handlers(self.loyalty, self.till.journal)
        crashing: dict[str, OperationHandler] = {
            kind: CrashingHandler(handler, self.armed) for kind, handler in handlers.items()
        }
        self.till.outbox = Outbox(
            self.till.journal, crashing, SETTINGS, clock=self.till.clock, rng=random.Random(4)
        )

    # --- rules ----------------------------------------------------------------------------

    @rule(card=st.sampled_from([None, *CARDS]))
    def sale(self, card: str | None) -> None:
        credits = len(self.sold) + 1  # unique per sale: a ledger row names its sale
        sale_id = f"M-{credits}"
        op_id = self.run(self.till.sell(f"{credits}.50", card=card, sale_id=sale_id))
        self.sold.append(Sold(sale_id, op_id, card, credits))
        self.tally.sales += 1

    @rule()
    def deliver(self) -> None:
        self.run(self.till.outbox.drain_once())

    @rule(mode=st.sampled_from(FAULTS), where=st.sampled_from(sorted(TARGETS)))
    def fault_on_the_next_request(self, mode: str, where: str) -> None:
        self.sandbox.set_fault(mode=mode, count=1, **TARGETS[where])
        self.tally.faults += 1

    @rule(point=st.sampled_from(["idle", "prepared", "before_send", "after_send"]))
    def crash(self, point: str) -> None:
        """A power cut while delivering (or while idle), then the restart."""
        if point != "idle":
            self.armed["point"] = point
            try:
                self.run(self.till.outbox.drain_once())
            except* Crash:
                self.tally.cut_mid_delivery += 1
            self.armed["point"] = None  # nothing was due: the cut came while idle
        self.till.journal.close()
        self.till.journal = Journal.open(self.path)
        self._use_crashing_handlers()
        self.tally.in_flight_at_restart += self.run(self.till.outbox.recover())
        self.tally.crashes += 1

    @rule(seconds=st.sampled_from([1.0, 10.0, 60.0, 600.0]))
    def time_passes(self, seconds: float) -> None:
        self.till.clock.now += seconds

    # --- the end --------------------------------------------------------------------------

    @precondition(lambda self: bool(self.sold))
    @rule()
    def settle_and_compare(self) -> None:
        """Faults off, drained to quiescence: the ledger equals the model (also at teardown)."""
        self.sandbox.clear_faults()
        for _ in range(QUIET_ROUNDS):
            self.run(self.till.outbox.drain_once())
            active = [
                op for state in ACTIVE for op in self.run(self.till.journal.operations_in(state))
            ]
            if not active:
                break
            self.till.clock.now += 3600
        self.compare()

    def compare(self) -> None:
        ledger = self.sandbox.ledger()
        credited: dict[int, list[dict[str, Any]]] = {}
        for row in ledger:
            if row["kind"] == "credit_reception":
                credited.setdefault(row["credits"], []).append(row)
        staged_urls = {row.get("url") for row in ledger if row["kind"] == "staged_credit_reception"}
        for sold in self.sold:
            operation = self.run(self.till.op(sold.op_id))
            rows = credited.pop(sold.credits, [])
            self.tally.duplicated += len(rows) > 1
            self.tally.lost += (
                operation.state is OperationState.DONE and not rows and bool(sold.card)
            )
            assert len(rows) <= 1, f"{sold.sale_id} credited {len(rows)} times"
            if sold.card is None:
                self._check_staged(sold, operation, rows, staged_urls)
                continue
            if operation.state is OperationState.REVIEW and self.version == "v1":
                assert len(rows) <= 1  # a person looks: it may have landed, once at most
                continue
            assert operation.state is OperationState.DONE, (sold, operation)
            assert len(rows) == 1, f"{sold.sale_id} done but not in the ledger"
            assert rows[0]["member"]["id"] == CARDS[sold.card]
            if self.version == "v3":
                assert rows[0]["attributes"] == {"agent_operation_id": sold.op_id}
        assert credited == {}, f"credited with no sale behind it: {credited}"

    def _check_staged(
        self, sold: Sold, operation: Operation, rows: list[Any], staged_urls: set[Any]
    ) -> None:
        assert rows == [], f"{sold.sale_id} for nobody was credited"
        assert operation.state is OperationState.DONE, (sold, operation)
        assert operation.result is not None
        if self.version == "v1":  # the printed QR is one the sandbox staged
            assert stored(operation.result)["url"] in staged_urls

    def teardown(self) -> None:
        try:
            if self.sold:
                self.settle_and_compare()
                for sold in self.sold:
                    state = self.run(self.till.op(sold.op_id)).state
                    self.tally.states[str(state)] += 1
        finally:
            self.sandbox.clear_faults()
            self.run(self.loyalty.aclose())
            self.till.journal.close()
            self.loop.close()
            # one folder per example, a hundred examples per version: gone with its example
            shutil.rmtree(self.directory, ignore_errors=True)


def run_model(version: str, sandbox: Sandbox, tally: Tally, examples: int) -> None:
    class Machine(OutboxModel):
        pass

    Machine.version = version
    Machine.sandbox = sandbox
    Machine.tally = tally
    set_testing(True)  # the client's inline retry waits off; they still happen
    try:
        run_state_machine_as_test(
            Machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=30,
                deadline=None,
                derandomize=True,  # the same examples on every run: CI is not flaky
                suppress_health_check=[HealthCheck.too_slow],
                database=None,
            ),
        )
    finally:
        set_testing(False)
        sandbox.reset()


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_the_outbox_against_its_model(version: str, sandbox: Sandbox) -> None:
    tally = Tally()
    started = time.monotonic()
    run_model(version, sandbox, tally, examples=100)
    note(
        f"outbox model {version}",
        examples=tally.examples,
        sales=tally.sales,
        faults=tally.faults,
        crashes=tally.crashes,
        cut_mid_delivery=tally.cut_mid_delivery,
        in_flight_at_restart=tally.in_flight_at_restart,
        lost=tally.lost,
        duplicated=tally.duplicated,
        final_states=dict(tally.states),
        seconds=time.monotonic() - started,
    )


def test_the_model_leaves_no_journal_folder_behind(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each example's journal folder goes with it: `make test` ran 200 and kept them all."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    tally = Tally()
    run_model("v3", sandbox, tally, examples=3)
    assert tally.examples >= 3
    assert list(tmp_path.glob("outbox-model-*")) == []
