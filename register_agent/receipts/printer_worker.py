"""The printer worker (the last step of a sale, docs/architecture.md): prints the journal's
pending receipts.

It asks the printer's status first, waits a bounded time for the sale's credits, composes
the receipt from the sale and its operations, prints it and marks the job done. A job the
printer cannot take stays pending and is tried again when the printer is back; the worker
runs as its own task, so a dead printer never holds up a sale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from register_agent.common.events import EventBus
from register_agent.common.logs import in_log_context
from register_agent.common.money import NotAnAmount, parse_amount, to_euros
from register_agent.common.test_hooks import hang_point
from register_agent.config import AgentConfig, ReceiptConfig, TillConfig
from register_agent.errors import PrinterError
from register_agent.journal import Journal, Operation, OperationState, PrintJob, SaleRecord
from register_agent.journal.kinds import CREDIT_RECEPTION, STAGED_CREDIT_RECEPTION
from register_agent.journal.records import ACTIVE_STATES
from register_agent.journal.results import CreditsResult, StagedCreditResult
from register_agent.receipts.giftcards import with_giftcards
from register_agent.receipts.layout import Receipt, ReceiptLayout, SaleLine, layout_receipt
from register_agent.receipts.printer import Printer, PrinterState, PrinterStatus
from register_agent.receipts.welcome import welcome_receipt

log = logging.getLogger(__name__)

#: operations whose outcome the receipt shows (a refund's does not belong on the sale's slip)
_RECEIPT_KINDS = (CREDIT_RECEPTION, STAGED_CREDIT_RECEPTION)


def agent_prints(config: AgentConfig) -> bool:
    """Whether the agent prints receipts itself, i.e. whether the printer worker runs.

    ``[till] prints = "pos"`` means the POS prints the loyalty block from the sale's
    answer; without a ``[printer]`` section there is nothing to print on either.
    """
    return config.till.prints != "pos" and config.printer is not None


# --- the receipt, from the journal's rows ----------------------------------------------------


def compose_receipt(
    sale: SaleRecord, operations: Sequence[Operation], job: PrintJob, till: TillConfig
) -> Receipt:
    """What the slip of ``job`` says, from the sale and its operations as they are now.

    Credits and balance come from the done credit reception (or the answer, when the till
    already had them); a credit reception still on its way says "points will be added". The
    QR is the v1 staged reception's URL or the v3 token's (the answer's ``qr_url``); a
    staged reception not made yet says plainly that there is no QR. It needs no clock:
    the bounded wait for the credits is the worker's, done before it is called.
    """
    welcome = welcome_receipt(sale, job)
    if welcome is not None:  # a card handed out at the counter, not a sale
        return welcome
    loyalty: Mapping[str, Any] = sale.answer.get("loyalty") or {}
    credits, balance, pending = _credits(_last(operations, CREDIT_RECEPTION), loyalty)
    qr_url, qr_unavailable = _qr(_last(operations, STAGED_CREDIT_RECEPTION), loyalty)
    slip = till.prints == "loyalty_slip"
    return Receipt(
        sale_id=sale.sale_id,
        # a loyalty slip leaves the sale itself to the POS's own receipt; its id stays, so
        # the slip can be matched to the sale (and reprinted by it)
        lines=() if slip else _lines(sale.request),
        total=None if slip else _total(sale),
        customer_lines=_customer_lines(loyalty),
        credits_earned=credits,
        new_balance=balance,
        points_pending=pending,
        qr_url=qr_url,
        qr_unavailable=qr_unavailable,
        copy=job.copy > 0,
    )


def says_loyalty(receipt: Receipt) -> bool:
    """Whether ``receipt`` has a loyalty part (credits, points to follow, a QR, or why not)."""
    return (
        receipt.credits_earned is not None
        or receipt.new_balance is not None
        or receipt.points_pending
        or receipt.qr_url is not None
        or receipt.qr_unavailable
    )


def _customer_lines(loyalty: Mapping[str, Any]) -> tuple[str, ...]:
    """The attribute lines as the sale's answer stored them: a reprint prints the same,
    whatever the config says by then."""
    lines = loyalty.get("customer_lines") or ()
    return tuple(line for line in lines if isinstance(line, str))


def _last(operations: Sequence[Operation], kind: str) -> Operation | None:
    found = [operation for operation in operations if operation.kind == kind]
    return found[-1] if found else None


def _credits(
    credit: Operation | None, loyalty: Mapping[str, Any]
) -> tuple[int | None, int | None, bool]:
    """(credits, balance, points pending) for the slip."""
    if credit is None:
        if loyalty.get("state") == "credited":
            return _int(loyalty.get("credits")), _int(loyalty.get("balance")), False
        return None, None, loyalty.get("state") == "pending"
    if credit.state is OperationState.DONE:
        # no result: a person marked the credits applied (review); they are not known here
        result = credit.result_as(CreditsResult)
        return (result.credits, result.balance, False) if result else (None, None, False)
    if credit.state is OperationState.DEAD:
        # Rejected for good (an unregistered card): promising points would be untrue; the
        # operator sees the dead operation and its reason.
        return None, None, False
    # pending, in flight, unknown, or in review (a person will settle it either way)
    return None, None, True


def _qr(staged: Operation | None, loyalty: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(the QR's URL, no QR could be made): the same URL on every copy of the slip."""
    result = staged.result_as(StagedCreditResult) if staged is not None else None
    if staged is not None and staged.state is OperationState.DONE and result and result.url:
        return result.url, False
    answered = loyalty.get("qr_url")
    if isinstance(answered, str) and answered:
        return answered, False
    return None, staged is not None


def _lines(request: Mapping[str, Any]) -> tuple[SaleLine, ...]:
    lines = request.get("lines") or ()
    return tuple(
        SaleLine(str(line.get("text", "")), _decimal(line.get("amount")))
        for line in lines
        if isinstance(line, Mapping)
    )


def _total(sale: SaleRecord) -> Decimal:
    amount = _decimal(sale.request.get("amount"))
    return amount if amount is not None else to_euros(sale.amount_cents)


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, float):
        return None
    try:
        return parse_amount(value)
    except NotAnAmount:
        return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- the worker ------------------------------------------------------------------------------


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
    #: how often the sale's operations are read while waiting for the credits
    credits_poll_s: float = 0.1


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
    ) -> None:
        self._journal = journal
        self._printer = printer
        self._till = till
        self._receipt = receipt
        self._width = width
        self._events = events
        self._clock = clock  # the journal's time (sales' created_at)
        self._on_beat = on_beat
        self._timing = timing or PrintTiming()
        self._wake = asyncio.Event()
        self._status: PrinterStatus | None = None
        self._status_at = float("-inf")  # monotonic
        self._blocked = False  # jobs wait and the printer cannot take them
        self._retry_s = 0.0

    @classmethod
    def from_config(
        cls,
        config: AgentConfig,
        journal: Journal,
        printer: Printer,
        *,
        events: EventBus | None = None,
        on_beat: Callable[[], None] = lambda: None,
    ) -> PrinterWorker:
        width = config.printer.line_width if config.printer is not None else 42
        return cls(
            journal,
            printer,
            till=config.till,
            receipt=config.receipt,
            width=width,
            events=events,
            on_beat=on_beat,
        )

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
                except Exception:  # a bug must not stop the receipts for good
                    log.exception("printer worker: a turn failed; trying again later")
                    self._blocked = True
                next_turn = time.monotonic() + self._pause()
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
        jobs = await self._journal.print_jobs_due(self._clock(), self._till.receipt_freshness_s)
        if not jobs:
            self._blocked = False
            if time.monotonic() - self._status_at >= self._timing.idle_status_s:
                await self._refresh_status()
            return 0
        if not (await self._refresh_status()).can_print:
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
            await self._printer.print(layout)
        except PrinterError as exc:
            # The job stays pending. If bytes went out before the link broke, the retry
            # prints the whole slip again, unmarked: a torn first slip is no receipt.
            log.warning("printer: receipt of sale %s not printed: %s", job.sale_id, exc)
            await self._journal.print_job_failed(job.id, str(exc))
            await self._refresh_status()
            return False
        await self._journal.print_job_done(job.id, self._clock())
        return True

    async def _wait_for_credits(self, sale: SaleRecord) -> list[Operation]:
        """The sale's operations once its credits (or staged QR) are settled, or once
        ``receipt_wait_s`` after the sale has passed, whichever comes first."""
        wait_s = self._till.receipt_wait_s
        left = sale.created_at + wait_s - self._clock()
        # measured on the monotonic clock: a wall clock that jumps cannot stretch the wait
        stop_at = time.monotonic() + min(max(left, 0.0), wait_s)
        while True:
            operations = await self._journal.operations_of_sale(sale.sale_id)
            remaining = stop_at - time.monotonic()
            if remaining <= 0 or not _unsettled(operations):
                return operations
            self._on_beat()
            await asyncio.sleep(min(self._timing.credits_poll_s, remaining))

    async def _refresh_status(self) -> PrinterStatus:
        try:
            status = await self._printer.status()
        except PrinterError as exc:
            status = PrinterStatus(PrinterState.NO_REPLY, str(exc))
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


def _unsettled(operations: Sequence[Operation]) -> bool:
    return any(op.kind in _RECEIPT_KINDS and op.state in ACTIVE_STATES for op in operations)
