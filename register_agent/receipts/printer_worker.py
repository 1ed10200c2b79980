"""The printer worker (the last step of a sale, docs/architecture.md): prints the journal's
pending receipts.

It waits a bounded time for the sale's credits (woken by the outbox's "settled" signal,
``outbox/settled.py``), composes the receipt from the sale and its operations
(``receipts/sale_receipt.py``), prints it (the printer's status asked first on the job's
connection) and marks the job done. A job the printer cannot take stays pending and is
tried again when the printer is back; the worker runs as its own task, so a dead printer
never holds up a sale. A slip printed while the journal takes no writes (a full disk) is
remembered until it is marked done, so it is not printed again every turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from register_agent.common.events import EventBus
from register_agent.common.faults import WorkerFaults
from register_agent.common.logs import in_log_context
from register_agent.common.test_hooks import hang_point
from register_agent.config import AgentConfig, ReceiptConfig, TillConfig
from register_agent.errors import JournalError, PrinterError
from register_agent.journal import Journal, Operation, PrintJob, SaleRecord
from register_agent.journal.records import ACTIVE_STATES
from register_agent.outbox.settled import Settled, finished
from register_agent.receipts.drawer import Drawer
from register_agent.receipts.giftcards import with_giftcards
from register_agent.receipts.layout import ReceiptLayout, layout_receipt
from register_agent.receipts.printer import Printer, PrinterRefused, PrinterState, PrinterStatus
from register_agent.receipts.sale_receipt import RECEIPT_KINDS, compose_receipt, says_loyalty
from register_agent.receipts.vouchers import with_vouchers

log = logging.getLogger(__name__)

WORKER = "printer"


def agent_prints(config: AgentConfig) -> bool:
    """Whether the agent prints receipts itself, i.e. whether the printer worker runs.
    ``[till] prints = "pos"``: the POS prints the loyalty block from the sale's answer;
    without a ``[printer]`` section there is nothing to print on either."""
    return config.till.prints != "pos" and config.printer is not None


@dataclass(frozen=True)
class PrintTiming:
    """How often the worker looks; none of it is config (tests shorten it)."""

    #: a turn of the loop (heartbeat, new jobs in the journal) at least this often
    turn_s: float = 1.0
    #: the printer's status is asked this often while nothing waits to print
    idle_status_s: float = 10.0
    #: a printer that could not print is asked again after this, doubling ...
    retry_min_s: float = 0.5
    #: ... up to this: a slip comes out at most this long after the printer is back
    retry_max_s: float = 10.0
    #: the clock the wait for credits is measured on (tests give one that follows it)
    monotonic: Callable[[], float] = time.monotonic


class PrinterWorker:
    """Prints the journal's pending receipts until cancelled; see the module docstring."""

    def __init__(
        self,
        journal: Journal,
        printer: Printer,
        *,
        till: TillConfig,
        receipt: ReceiptConfig,
        width: int,
        events: EventBus | None = None,
        clock: Callable[[], float] = time.time,
        on_beat: Callable[[], None] = lambda: None,
        timing: PrintTiming | None = None,
        settled: Settled | None = None,
        faults: WorkerFaults | None = None,
    ) -> None:
        self._journal = journal
        self._faults = faults or WorkerFaults()
        #: job id -> when it was printed, for slips the journal has not marked done yet
        self._printed: dict[int, float] = {}
        self._printer = printer
        self._till = till
        self._receipt = receipt
        self._width = width
        self._events = events
        self._clock = clock  # the journal's time (sales' created_at)
        self._on_beat = on_beat
        self._timing = timing or PrintTiming()
        self._settled = settled or Settled()  # the outbox's signal (the runtime's)
        self._wake = asyncio.Event()
        self._status: PrinterStatus | None = None
        self._status_at = float("-inf")  # monotonic
        self._blocked = False  # jobs wait and the printer cannot take them
        self._retry_s = 0.0
        self.drawer = Drawer(printer, None)  # from_config names its pin and pulse

    @classmethod
    def from_config(
        cls,
        config: AgentConfig,
        journal: Journal,
        printer: Printer,
        *,
        events: EventBus | None = None,
        on_beat: Callable[[], None] = lambda: None,
        settled: Settled | None = None,
        faults: WorkerFaults | None = None,
    ) -> PrinterWorker:
        width = config.printer.line_width if config.printer is not None else 42
        worker = cls(
            journal,
            printer,
            till=config.till,
            receipt=config.receipt,
            width=width,
            events=events,
            on_beat=on_beat,
            settled=settled,
            faults=faults,
        )
        # the drawer goes to the same printer, past this worker's queue (receipts/drawer.py)
        worker.drawer = Drawer(printer, config.printer)
        return worker

    def printer_status(self) -> PrinterStatus | None:
        """The printer's last known status (None until it was first asked)."""
        return self._status

    def wake(self) -> None:
        """A new job (a sale, a reprint): look now, even at a printer that was down."""
        self._wake.set()

    async def run(self) -> None:
        """Print until cancelled; every turn of the loop is a heartbeat, idle or busy."""
        next_turn = time.monotonic()
        while True:
            self._on_beat()
            await hang_point("printer")
            if self._wake.is_set() or time.monotonic() >= next_turn:
                self._wake.clear()
                try:
                    await self.print_due_once()
                    self._faults.clear(WORKER)
                except JournalError as exc:  # a full disk: the jobs wait, the worker goes on
                    self._faults.report(WORKER, f"the journal fails ({exc})", first_s=0, max_s=0)
                    self._blocked = True
                except Exception as exc:  # a bug must not stop the receipts for good
                    log.exception("printer worker: a turn failed; trying again later")
                    self._faults.report(WORKER, f"a turn failed ({exc!r})", first_s=0, max_s=0)
                    self._blocked = True
                next_turn = time.monotonic() + self._pause()
                # the turn's end is a sign of life too: a slow status check (a printer
                # library loading cold, a status deadline) and the wait after it must not
                # add up to a silence the watchdog takes for a hung worker
                self._on_beat()
            wait = min(self._timing.turn_s, max(0.0, next_turn - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def _pause(self) -> float:
        """Until the next look: a turn, or a backoff while the printer cannot print."""
        if not self._blocked:
            self._retry_s = 0.0
            return self._timing.turn_s
        self._retry_s = min(
            max(self._retry_s * 2, self._timing.retry_min_s), self._timing.retry_max_s
        )
        return self._retry_s

    async def print_due_once(self) -> int:
        """Print the jobs due now, oldest first, stopping at the first that fails; how many
        were done. The status is asked first; with nothing to print, only now and then."""
        for job_id, printed_at in list(self._printed.items()):  # first what is on paper
            await self._journal.print_job_done(job_id, printed_at)
            del self._printed[job_id]
        jobs = await self._journal.print_jobs_due(self._clock(), self._till.receipt_freshness_s)
        if not jobs:
            self._blocked = False
            if time.monotonic() - self._status_at >= self._timing.idle_status_s:
                await self._refresh_status()
            return 0
        # a printer last seen ready is asked on the first job's own connection (status, then
        # the job: one connection, not two); one that was not is asked first, alone
        ready = self._status is not None and self._status.can_print
        if not ready and not (await self._refresh_status()).can_print:
            self._blocked = True
            return 0
        printed = 0
        for job in jobs:
            if not await in_log_context(self._print(job), sale_id=job.sale_id):
                self._blocked = True
                return printed
            printed += 1
        self._blocked = False
        return printed

    async def _print(self, job: PrintJob) -> bool:
        sale = await self._journal.sale(job.sale_id)
        if sale is None:  # cannot happen while the job is pending (purge keeps it): log it
            log.warning("print job %d: sale %s is not in the journal; dropped", job.id, job.sale_id)
            await self._journal.print_job_done(job.id, self._clock())
            return True
        operations = await self._wait_for_credits(sale)
        receipt = compose_receipt(sale, operations, job, self._till)
        payments = await self._journal.giftcard_payments_of_sale(sale.sale_id)
        receipt = with_giftcards(receipt, payments, self._receipt.language, sale.currency)
        vouchers = await self._journal.vouchers_of_sale(sale.sale_id)
        receipt = with_vouchers(receipt, vouchers, self._receipt.language)
        # (a welcome slip is all notes: printed on a loyalty-slip till too)
        if self._till.prints == "loyalty_slip" and not (says_loyalty(receipt) or receipt.notes):
            # a slip with only the shop's name on it would be paper for nothing
            log.info("sale %s has nothing for a loyalty slip; none printed", sale.sale_id)
            await self._journal.print_job_done(job.id, self._clock())
            return True
        settings = self._receipt.model_copy(update={"currency": sale.currency})
        layout = layout_receipt(receipt, settings, self._width)
        sending = asyncio.ensure_future(self._print_and_record(job, layout))
        try:
            return await asyncio.shield(sending)
        except asyncio.CancelledError:
            # Stopping while the printer may already have the slip: finish (bounded by the
            # driver's timeouts) and record it, so a restart does not print it twice.
            with contextlib.suppress(Exception):
                await sending
            raise

    async def _print_and_record(self, job: PrintJob, layout: ReceiptLayout) -> bool:
        try:
            status = await self._printer.print(layout)
        except PrinterError as exc:
            # The job stays pending. If bytes went out before the link broke, the retry
            # prints the whole slip again, unmarked: a torn first slip is no receipt.
            log.warning("printer: receipt of sale %s not printed: %s", job.sale_id, exc)
            await self._journal.print_job_failed(job.id, str(exc))
            refused = exc.status if isinstance(exc, PrinterRefused) else None  # it answered
            await (self._record_status(refused) if refused else self._refresh_status())
            return False
        if status is not None:
            await self._record_status(status)
        # on paper: should the journal refuse to mark it (a full disk), it is marked later
        self._printed[job.id] = self._clock()
        await self._journal.print_job_done(job.id, self._printed[job.id])
        del self._printed[job.id]
        return True

    async def _wait_for_credits(self, sale: SaleRecord) -> list[Operation]:
        """The sale's operations once its credits (or staged QR) are settled, or once
        ``receipt_wait_s`` after the sale has passed, whichever comes first."""
        wait_s = self._till.receipt_wait_s
        left = sale.created_at + wait_s - self._clock()
        # measured on the monotonic clock: a wall clock that jumps cannot stretch the wait
        stop_at = self._timing.monotonic() + min(max(left, 0.0), wait_s)
        while True:
            operations = await self._journal.operations_of_sale(sale.sale_id)
            remaining = stop_at - self._timing.monotonic()
            unsettled = _unsettled(operations)
            if remaining <= 0 or not unsettled:
                return operations
            # in slices with a heartbeat between them: a long wait is not a hung worker
            # (the journal is read again after each: a person's review settles it too)
            self._on_beat()
            slice_s = min(self._timing.turn_s, remaining)
            await self._settled.wait(unsettled, slice_s, until=finished)

    async def _refresh_status(self) -> PrinterStatus:
        try:
            status = await self._printer.status()
        except PrinterError as exc:
            status = PrinterStatus(PrinterState.NO_REPLY, str(exc))
        return await self._record_status(status)

    async def _record_status(self, status: PrinterStatus) -> PrinterStatus:
        self._status_at = time.monotonic()
        previous, self._status = self._status, status
        if previous is None or previous.state is not status.state:
            await self._report(status)
        return status

    async def _report(self, status: PrinterStatus) -> None:
        """Once per change of state, not per poll: the log, and the POS's event stream."""
        detail = f" ({status.detail})" if status.detail else ""
        level = logging.INFO if status.can_print else logging.WARNING
        log.log(level, "printer: %s%s", status.message, detail)
        if self._events is not None:
            await self._events.publish(
                "printer",
                {"state": str(status.state), "message": status.message, "detail": status.detail},
            )


def _unsettled(operations: list[Operation]) -> list[str]:
    """The sale's operations the receipt waits for that the outbox has not finished."""
    return [op.id for op in operations if op.kind in RECEIPT_KINDS and op.state in ACTIVE_STATES]
