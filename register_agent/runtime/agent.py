"""The running agent (``register-agent run``): every part of one till, started in order and
stopped in reverse, with systemd told how it goes (``sdnotify``).

READY=1 once the journal is open and the local API listens: a Register API that is down or
a missing printer is a degraded state shown by ``status``, not a reason to stay un-ready.
SIGHUP re-reads the configuration and credentials (a new API key resumes paused sending);
SIGTERM stops taking work, gives what is in flight a bounded time, and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from register_agent.api import LocalApiServer, browser_access, local_api_token, make_app
from register_agent.common.events import EventBus
from register_agent.common.faults import WorkerFaults
from register_agent.common.logs import remember_card, remember_secrets, secrets_of
from register_agent.config import AgentConfig
from register_agent.counter.giftcards.desk import GiftcardDesk
from register_agent.counter.health import TillHealth
from register_agent.journal import Journal, Operation
from register_agent.loyalty import make_loyalty
from register_agent.loyalty.http import observe_calls
from register_agent.outbox.settled import Settled
from register_agent.outbox.worker import Outbox
from register_agent.passthrough.figures import PassthroughCounters, metric_families
from register_agent.readers.reader import RawScan
from register_agent.readers.scans import Outcome, Scan, ScanPipeline
from register_agent.receipts.printer_worker import PrinterWorker, agent_prints
from register_agent.runtime import devices
from register_agent.runtime.fleet_metrics import FleetCollector
from register_agent.runtime.housekeeping import cached_register, keep_house
from register_agent.runtime.metrics import AgentMetrics, MetricsServer, Sources
from register_agent.runtime.outbox_parts import open_vouchers, outbox_handlers, outbox_settings
from register_agent.runtime.relaying import open_relay, till_settings
from register_agent.runtime.sdnotify import READY_STATUS, Heartbeat, Notifier, feed_watchdog
from register_agent.runtime.tasks import Tasks, first_of
from register_agent.till.sale import Till

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.sqlite3"
STOP_GRACE_S = 5.0  # what is in flight at SIGTERM gets this long to finish
DEFAULT_SILENCE_S = 30.0  # a worker silent this long is hung (without a systemd watchdog)
EXIT_WORKER_DIED = 70  # EX_SOFTWARE: a worker ended, a bug; systemd's Restart= starts afresh


class Agent:
    """One till's agent. ``load`` reads the configuration (again on every reload)."""

    def __init__(
        self,
        load: Callable[[], AgentConfig],
        *,
        notifier: Notifier | None = None,
    ) -> None:
        self._load = load
        self.config = load()
        self._notifier = notifier or Notifier()
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._died: str | None = None  # the worker whose end stopped the agent
        self.faults = WorkerFaults()  # the workers in trouble, for status and systemd
        interval = self._notifier.watchdog_interval_s
        self.heartbeat = Heartbeat(interval if interval else DEFAULT_SILENCE_S)

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        """Run until SIGTERM / SIGINT; 0 on a clean stop."""
        self._install_signals()
        async with contextlib.AsyncExitStack() as stack:
            await self._start(stack)
            while not self._stop.is_set():
                await first_of(self._stop.wait(), self._reload.wait())
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    await self._reload_config()
            self._notifier.stopping()
            log.info("stopping")
        return EXIT_WORKER_DIED if self._died else 0

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload.set)

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        """Start the parts in order; the exit stack stops them in reverse."""
        config = self.config
        state = config.state.directory
        self.journal = Journal.open(state / JOURNAL_FILE)
        stack.callback(self.journal.close)
        self.metrics = self._make_metrics(state / JOURNAL_FILE)
        lanes = lambda: self.outbox.backlog_room.lanes  # noqa: E731 (the outbox comes later)
        self.metrics.registry.register(FleetCollector(lambda: self.config, lanes))
        stack.callback(observe_calls(self.metrics.api_call))
        loyalty = make_loyalty(
            config.api, newsletter=config.newsletter, register=cached_register(state)
        )
        stack.push_async_callback(loyalty.aclose)
        self.loyalty = loyalty.service
        self.events = EventBus()
        self.settled = Settled()  # the outbox tells it; the till and the printer wait on it
        self.printer_lock = threading.Lock()  # one connection at a time: relay and slips
        on = config.passthrough.enabled
        self.passthrough = PassthroughCounters(state) if on else None
        self.printer_worker = await self._start_printer(stack)
        self.readers = [devices.make_reader(reader) for reader in config.readers]
        self.health = TillHealth(
            self.journal,
            config.outbox,
            printer=lambda: devices.printer_line(self.printer_worker),
            readers=lambda: devices.reader_lines(self.readers),
            credentials_refused=lambda: self.outbox.credentials_refused,
            faults=self.faults,
            passthrough=self.passthrough.figures if self.passthrough else lambda: None,
        )
        self.till = Till(
            journal=self.journal,
            loyalty=loyalty,
            events=self.events,
            till=till_settings(config),
            receipt=config.receipt,
            health=self.health,
            wake_outbox=lambda: self.outbox.wake(),  # noqa: PLW0108 (the outbox comes next)
            wake_printer=self.printer_worker.wake if self.printer_worker else lambda: None,
            settled=self.settled,
            drawer=self.printer_worker.drawer if self.printer_worker else None,
        )
        self.giftcards = GiftcardDesk(
            self.journal,
            loyalty.giftcards,
            self.health,
            self.events,
            config.receipt,
            patterns=config.scans.giftcard_patterns,
        )
        wake = lambda: self.outbox.wake()  # noqa: E731, PLW0108 (the outbox comes next)
        self.vouchers = open_vouchers(config, self.journal, self.loyalty, stack, wake)
        self.outbox: Outbox = Outbox(
            self.journal,
            outbox_handlers(config, loyalty, self.journal, self.vouchers),
            outbox_settings(config),
            on_beat=lambda: self.heartbeat.beat("outbox"),
            on_settled=self._settled,
            on_api_result=self.health.api_result,
            faults=self.faults,
            till_first=self.till.till_first,  # the till's answers go before the backlog
        )
        recovered = await self.outbox.recover()
        if recovered:
            log.warning("%d operations were in flight at the last stop: reconciling", recovered)
        tasks = await stack.enter_async_context(Tasks(on_death=self._worker_died))
        self._start_workers(tasks)
        if self.passthrough is not None:  # its own threads: printing never waits on the loop
            args = (self.till, self.passthrough, self.printer, self.printer_lock)
            relay = open_relay(config, *args, loyalty=self.loyalty)
            stack.callback(relay.stop)
        await self._start_api(stack)
        self._start_metrics(stack)
        self._notifier.ready(READY_STATUS)
        log.info("ready: Register API %s at %s", config.api.version, config.api.base_url)

    async def _start_printer(self, stack: contextlib.AsyncExitStack) -> PrinterWorker | None:
        self.printer = None
        if self.config.printer is None or not (agent_prints(self.config) or self.passthrough):
            return None
        self.printer = devices.agent_printer(self.config, lock=self.printer_lock)
        stack.push_async_callback(self.printer.close)
        if not agent_prints(self.config):
            return None  # the pass-through's printer only
        return PrinterWorker.from_config(
            self.config,
            self.journal,
            self.printer,
            events=self.events,
            on_beat=lambda: self.heartbeat.beat("printer"),
            settled=self.settled,
            faults=self.faults,
        )

    def _start_workers(self, tasks: Tasks) -> None:
        self.heartbeat.register("outbox")
        for reader in self.readers:
            self.heartbeat.register(f"reader {reader.name}")
        tasks.start("outbox", self.outbox.run())
        if self.printer_worker is not None:
            self.heartbeat.register("printer")
            tasks.start("printer", self.printer_worker.run(), device="printer")
        if self.readers:
            pipeline = ScanPipeline(self.config.scans, self.config.readers)
            tasks.start("readers", devices.run_readers(self.readers, pipeline, self._scanned))
        tick, trouble = self.metrics.state.sample_readers, self.health.trouble
        watchdog = feed_watchdog(self._notifier, self.heartbeat, self.readers, tick, trouble)
        tasks.start("watchdog", watchdog)
        house = keep_house(self.journal, self.loyalty, self.health, self.config.state)
        tasks.start("housekeeping", house)

    async def _start_api(self, stack: contextlib.AsyncExitStack) -> None:
        token = local_api_token(self.config.local_api, self.config.state.directory)
        remember_secrets(token)  # a generated token is a secret the logs must not show
        app = make_app(
            self.till,
            self.events,
            token,
            giftcards=self.giftcards,
            vouchers=self.vouchers,
            profile=self.till.profile,
            enrolment=self.till.enrolment,
            browser=browser_access(self.config.local_api),
            counter_language=self.config.receipt.language,
        )
        server = LocalApiServer.for_config(app, self.config.local_api)
        await server.start()
        stack.push_async_callback(self._stop_outbox)  # after the API: no new sales first
        stack.push_async_callback(server.stop)
        self.api_address = str(server.address)

    def _make_metrics(self, journal_file: Path) -> AgentMetrics:
        """Metrics read on scrape from what the parts keep (metrics.py says why)."""
        return AgentMetrics(
            Sources(
                journal_file=journal_file,
                api_state=lambda: self.health.api_state,
                printer=lambda: (
                    self.printer_worker.printer_status() if self.printer_worker else None
                ),
                readers=lambda: [reader.status() for reader in self.readers],
                started_at=time.time(),
                journal_state=lambda: self.journal.fault.kind if self.journal.fault else "ok",
                worker_faults=self.faults.current,
                passthrough=lambda: (
                    metric_families(self.passthrough.figures()) if self.passthrough else ()
                ),
            )
        )

    def _start_metrics(self, stack: contextlib.AsyncExitStack) -> None:
        server = MetricsServer(self.metrics, self.config.local_api.metrics_listen)
        server.start()
        stack.callback(server.stop)

    def _worker_died(self, worker: str) -> None:
        """A worker ended (tasks.py): stop loudly, so systemd starts a whole agent again."""
        self._died = worker
        self._stop.set()

    async def _settled(self, operation: Operation) -> None:
        self.settled.notify(operation)  # first: wakes the sale and the slip waiting for it
        self.metrics.settled(operation.kind, operation.state)
        await self.till.operation_settled(operation)

    async def _stop_outbox(self) -> None:
        if not await self.outbox.finish(STOP_GRACE_S):
            log.warning("stopping with operations in flight: they are reconciled at start")

    async def _scanned(self, raw: RawScan, outcome: Outcome) -> None:
        self.metrics.scanned(outcome.reader, outcome)
        if isinstance(outcome, Scan):
            if self.giftcards.takes(outcome.value):  # before the till: not a loyalty card
                await self.giftcards.scanned(outcome)
                return
            if outcome.kind == "loyalty":
                remember_card(outcome.value)  # logs show its last 4 characters only
            await self.till.scanned(outcome)

    async def _reload_config(self) -> None:
        self._notifier.reloading()
        try:
            fresh = self._load()
        except Exception:  # a broken file on reload keeps the running config
            log.exception("reload failed: keeping the running configuration")
            self._notifier.ready("reload failed; running configuration kept")
            return
        remember_secrets(*secrets_of(fresh))
        key, old_key = fresh.api.api_key, self.config.api.api_key
        if key is not None and (
            old_key is None or key.get_secret_value() != old_key.get_secret_value()
        ):
            self.loyalty.use_api_key(key)
            self.outbox.resume_after_new_key()
            log.warning("reload: a new API key is in use; sending resumes")
        changed = [
            name
            for name in type(fresh).model_fields
            if name != "api" and getattr(fresh, name) != getattr(self.config, name)
        ]
        if changed:
            log.warning("reload: restart the agent to apply changes to %s", ", ".join(changed))
        self._notifier.ready("configuration reloaded")
