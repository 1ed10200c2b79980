"""Prometheus metrics on their own listener (``[local_api] metrics_listen``), for an operator
who scrapes a fleet of tills; the listener is apart from the local API, so it can be
opened to the LAN while the POS's API stays on loopback.

Most series are read when scraped: the journal (operations, outbox, print jobs, sales)
through a read-only connection of its own, and the parts' health (API, printer, readers)
from what they already keep; so the sale's path pays nothing for metrics. Only what
happens and is gone (a scan, an API call, a retry) is counted as it happens, with a
counter increment. Labels are states, kinds, reader names and error codes: never a card
value, a customer, a sale id or a secret.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from register_agent.errors import ConfigError, JournalError
from register_agent.journal import OperationState, PrintJobState
from register_agent.journal.admin import read_only
from register_agent.journal.claims import figures as claim_figures
from register_agent.journal.giftcards import to_check
from register_agent.journal.queries import outbox_summary
from register_agent.readers.reader import DeviceStatus
from register_agent.readers.scans import Outcome, Rejection, Repeat, Scan
from register_agent.receipts.printer import PrinterState, PrinterStatus
from register_agent.receipts.welcome import SLIP_PREFIX

log = logging.getLogger(__name__)

API_STATES = ("reachable", "unreachable", "key_refused", "unknown")
JOURNAL_STATES = ("ok", "disk_full", "damaged")


@dataclass(frozen=True)
class Sources:
    """Where the scrape-time series come from; each is cheap and never blocks."""

    journal_file: Path
    api_state: Callable[[], str]
    printer: Callable[[], PrinterStatus | None]
    readers: Callable[[], Sequence[DeviceStatus]]
    started_at: float
    #: "ok", or "disk_full" / "damaged" while the journal takes no writes
    journal_state: Callable[[], str] = lambda: "ok"
    #: worker name -> its last failure, for the workers that have not got through since
    worker_faults: Callable[[], Mapping[str, str]] = dict
    #: the receipt pass-through's series (``passthrough/figures.py``), when it is on
    passthrough: Callable[[], Iterable[Metric]] = tuple


class AgentMetrics:
    """The agent's registry: event counters, and a collector that reads state on scrape."""

    def __init__(self, sources: Sources) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.scans = Counter(
            "register_agent_scans",
            "Scans by outcome: accepted (a loyalty card), passed_on (a plain code for "
            "the POS), rejected (not an identifier), repeat (debounced)",
            ["reader", "outcome"],
            registry=self.registry,
        )
        self.api_seconds = Histogram(
            "register_agent_api_request_seconds",
            "Register API attempts, by method, with their duration",
            ["method"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
            registry=self.registry,
        )
        self.api_errors = Counter(
            "register_agent_api_errors",
            "Register API attempts that failed, by the API's error code, the HTTP status "
            "or 'transport'",
            ["code"],
            registry=self.registry,
        )
        self.retries = Counter(
            "register_agent_operation_retries",
            "Operations put back for another attempt or another look (pending, unknown)",
            ["kind", "state"],
            registry=self.registry,
        )
        self.state = StateCollector(sources)
        self.registry.register(self.state)

    def scanned(self, reader: str, outcome: Outcome) -> None:
        self.scans.labels(reader, _scan_outcome(outcome)).inc()

    def api_call(self, method: str, seconds: float, outcome: str) -> None:
        self.api_seconds.labels(method).observe(seconds)
        if outcome != "ok":
            self.api_errors.labels(outcome).inc()

    def settled(self, kind: str, state: str) -> None:
        if state in (OperationState.PENDING, OperationState.UNKNOWN):
            self.retries.labels(kind, state).inc()


def _scan_outcome(outcome: Outcome) -> str:
    if isinstance(outcome, Scan):
        return "accepted" if outcome.kind == "loyalty" else "passed_on"
    if isinstance(outcome, Rejection):
        return "rejected"
    assert isinstance(outcome, Repeat)
    return "repeat"


class StateCollector(Collector):
    """Reads the journal and the parts' health at scrape time."""

    def __init__(self, sources: Sources) -> None:
        self._sources = sources
        self._lock = threading.Lock()
        self._reader_up: dict[str, bool] = {}
        self._reader_changes: dict[tuple[str, str], int] = {}

    def describe(self) -> Iterable[Metric]:
        return []  # series appear as the journal and the devices have them

    def collect(self) -> Iterable[Metric]:
        yield from self._journal()
        yield from self._health()
        yield from self._readers()
        yield from self._sources.passthrough()

    def _journal(self) -> Iterable[Metric]:
        try:
            with read_only(self._sources.journal_file) as db:
                yield from _journal_metrics(db, self._sources.started_at)
        except JournalError as exc:
            log.debug("metrics: journal not readable (%s)", exc)

    def _health(self) -> Iterable[Metric]:
        api = GaugeMetricFamily(
            "register_agent_api_state", "1 for the Register API's current state", labels=["state"]
        )
        current = self._sources.api_state()
        for state in API_STATES:
            api.add_metric([state], 1.0 if state == current else 0.0)
        yield api
        journal = GaugeMetricFamily(
            "register_agent_journal_state",
            "1 for the journal's storage state: ok, disk_full or damaged (sales refused)",
            labels=["state"],
        )
        for state in JOURNAL_STATES:
            journal.add_metric([state], 1.0 if state == self._sources.journal_state() else 0.0)
        yield journal
        failing = GaugeMetricFamily(
            "register_agent_worker_failing",
            "1 for a worker (outbox, printer, housekeeping) whose last turn failed",
            labels=["worker"],
        )
        for worker in sorted(self._sources.worker_faults()):
            failing.add_metric([worker], 1.0)
        yield failing
        printer = GaugeMetricFamily(
            "register_agent_printer_state", "1 for the printer's last known state", labels=["state"]
        )
        status = self._sources.printer()
        for state in PrinterState:
            printer.add_metric([str(state)], 1.0 if status and status.state == state else 0.0)
        yield printer

    def sample_readers(self) -> None:
        """Count connects and disconnects (also called between scrapes, every few s)."""
        with self._lock:
            for status in self._sources.readers():
                up = status.state != "down"
                before = self._reader_up.get(status.name)
                if before is not None and before != up:
                    change = (status.name, "connect" if up else "disconnect")
                    self._reader_changes[change] = self._reader_changes.get(change, 0) + 1
                self._reader_up[status.name] = up

    def _readers(self) -> Iterable[Metric]:
        self.sample_readers()
        up = GaugeMetricFamily(
            "register_agent_reader_up", "1: the reader is open", labels=["reader"]
        )
        changes = CounterMetricFamily(
            "register_agent_reader_changes",
            "Reader connects and disconnects seen (sampled every few seconds)",
            labels=["reader", "change"],
        )
        with self._lock:
            for name, is_up in sorted(self._reader_up.items()):
                up.add_metric([name], 1.0 if is_up else 0.0)
                for change in ("connect", "disconnect"):
                    changes.add_metric([name, change], self._reader_changes.get((name, change), 0))
        yield up
        yield changes


def _journal_metrics(db: sqlite3.Connection, started_at: float) -> Iterable[Metric]:
    now = time.time()
    operations = GaugeMetricFamily(
        "register_agent_operations", "Operations in the journal by state", labels=["state"]
    )
    counts = dict(db.execute("SELECT state, COUNT(*) FROM operations GROUP BY state").fetchall())
    for state in OperationState:
        operations.add_metric([str(state)], counts.get(str(state), 0))
    yield operations
    summary = outbox_summary(db, now)
    yield GaugeMetricFamily(
        "register_agent_outbox_depth",
        "Operations still to deliver (pending, in flight, unknown)",
        value=summary.pending + summary.in_flight + summary.unknown,
    )
    yield GaugeMetricFamily(
        "register_agent_outbox_oldest_age_seconds",
        "Age of the oldest operation still to deliver (0: none)",
        value=summary.oldest_pending_age_s or 0.0,
    )
    yield GaugeMetricFamily(
        "register_agent_giftcard_payments_to_check",
        "Giftcard payments, top-ups and corrections not confirmed (register-agent review)",
        value=to_check(db),
    )
    claims = claim_figures(db)
    lost = GaugeMetricFamily(
        "register_agent_reward_claims_lost",
        "Reward claims whose answer was lost, by where they stand (review: register-agent review)",
        labels=["state"],
    )
    for where, count in (
        ("unconfirmed", claims.unconfirmed),
        ("review", claims.review),
        ("settled", claims.settled),
    ):
        lost.add_metric([where], count)
    yield lost
    jobs = GaugeMetricFamily(
        "register_agent_print_jobs", "Print jobs in the journal by state", labels=["state"]
    )
    job_counts = dict(
        db.execute("SELECT state, COUNT(*) FROM print_jobs GROUP BY state").fetchall()
    )
    for job_state in PrintJobState:
        jobs.add_metric([str(job_state)], job_counts.get(str(job_state), 0))
    yield jobs
    # a card's welcome slip is printed through a zero-amount entry (receipts/welcome.py): no sale
    sales = db.execute(
        "SELECT COUNT(*) FROM sales WHERE created_at >= ? AND sale_id NOT LIKE ?",
        (started_at, SLIP_PREFIX + "%"),
    )
    yield CounterMetricFamily(
        "register_agent_sales", "Sales recorded since the agent started", value=sales.fetchone()[0]
    )


class MetricsServer:
    """The listener; ``""`` in the config means none. Runs in prometheus-client's thread."""

    def __init__(self, metrics: AgentMetrics, listen: str) -> None:
        self._metrics = metrics
        self._listen = listen
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.address: tuple[str, int] | None = None

    def start(self) -> None:
        if not self._listen:
            return
        host, _, port = self._listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(
                f"local_api.metrics_listen {self._listen!r} is not HOST:PORT; "
                'write e.g. "127.0.0.1:9464", or "" to turn the metrics off'
            )
        try:
            self._server, self._thread = start_http_server(
                int(port), host.strip("[]"), registry=self._metrics.registry
            )
        except OSError as exc:
            # metrics are for the operator: a taken port must not keep the till from selling
            log.warning("metrics cannot listen on %s (%s); running without", self._listen, exc)
            return
        self.address = self._server.server_address[:2]
        log.info("metrics on http://%s:%d/metrics", *self.address)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
