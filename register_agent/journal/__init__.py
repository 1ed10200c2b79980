"""The journal: the till's durable memory of sales, outbox operations and print jobs.

One SQLite file in the state directory (WAL, ``synchronous=FULL``), written only by the
writer thread of ``writer.py``. A sale, its operations and its print job are committed in
one transaction before the POS gets its answer; operations then move between the states
of ``records.TRANSITIONS`` by compare-and-set, so a bug can never skip a step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Unpack

from register_agent.errors import JournalError
from register_agent.journal import claims, due, giftcards, identity, opening, queries
from register_agent.journal.claims import ClaimFigures, ClaimRecord, ClaimState
from register_agent.journal.counter_records import CounterRecords
from register_agent.journal.faults import JournalFault
from register_agent.journal.giftcards import GiftcardPayment, GiftcardState
from register_agent.journal.records import (
    TRANSITIONS,
    NewOperation,
    Operation,
    OperationChanges,
    OperationState,
    OutboxSummary,
    PrintJob,
    PrintJobState,
    SaleRecord,
)
from register_agent.journal.refunds import RefundRecord
from register_agent.journal.voucher_locks import VoucherLocks
from register_agent.journal.writer import JournalReader, JournalWriter

__all__ = [
    "TRANSITIONS",
    "ClaimFigures",
    "ClaimRecord",
    "ClaimState",
    "GiftcardPayment",
    "GiftcardState",
    "Journal",
    "JournalFault",
    "NewOperation",
    "Operation",
    "OperationChanges",
    "OperationState",
    "OutboxSummary",
    "PrintJob",
    "PrintJobState",
    "RefundRecord",
    "SaleRecord",
]


class Journal(CounterRecords, VoucherLocks):
    """The agent's journal; every method runs one committed transaction on the writer."""

    def __init__(self, writer: JournalWriter, marker: identity.Marker | None = None) -> None:
        self._writer = writer
        self._reader = JournalReader(writer.path, writer.health)
        self._marker = marker
        self._lock: int | None = None

    @classmethod
    def open(cls, path: Path) -> Journal:
        """Open (creating or upgrading) the journal at ``path``; refuse an unsafe file, and
        one that is not this till's whole journal (``journal/identity.py``)."""
        lock, marker = opening.open_checked(path)
        try:
            journal = cls(JournalWriter(path), marker)
        except BaseException:
            identity.release(lock)
            raise
        journal._lock = lock
        return journal

    @property
    def fault(self) -> JournalFault | None:
        """A full disk or a damaged file, while it lasts (``faults.py``); None when well."""
        return self._writer.health.fault

    def close(self) -> None:
        self._reader.close()
        fault = self._writer.health.fault
        if self._marker is not None and (fault is None or fault.kind != "damaged"):
            # a journal found damaged while running is not marked "closed": the next start
            # then checks the file and refuses it until a person decides
            opening.mark_closed(self._writer, self._marker)
        self._writer.close()
        if self._lock is not None:
            identity.release(self._lock)
            self._lock = None

    async def record_sale(
        self,
        sale: SaleRecord,
        operations: Sequence[NewOperation],
        *,
        print_receipt: bool,
    ) -> tuple[SaleRecord, bool]:
        """Write a sale with its operations and print job; or return the one already there.

        Returns the sale as stored and whether this call created it. The caller compares
        ``request_digest`` to tell a repeat from a conflicting sale with the same id.
        """
        stored, created, _ = await self.record_sale_first_in_line(
            sale, operations, print_receipt=print_receipt
        )
        return stored, created

    async def record_sale_first_in_line(
        self,
        sale: SaleRecord,
        operations: Sequence[NewOperation],
        *,
        print_receipt: bool,
    ) -> tuple[SaleRecord, bool, list[Operation]]:
        """``record_sale``, and of the operations it wrote those first in their customer's
        line (nothing of that customer's still to be done before them), read in the same
        transaction: what the due list would hand the outbox next of them."""

        def transaction(db: sqlite3.Connection) -> tuple[SaleRecord, bool, list[Operation]]:
            existing = queries.sale(db, sale.sale_id)
            if existing is not None:
                return existing, False, []
            queries.insert_sale(db, sale)
            for operation in operations:
                queries.insert_operation(db, sale.sale_id, operation, sale.created_at)
            if print_receipt:
                queries.insert_print_job(db, sale.sale_id, 0, sale.created_at)
            ids = [operation.id for operation in operations]
            return sale, True, due.first_in_line(db, ids, sale.created_at)

        return await self._writer.run_async(transaction)

    async def add_operations(
        self, sale_id: str | None, operations: Sequence[NewOperation], now: float
    ) -> None:
        """Queue further operations (a refund, a reversal) behind what is already there."""

        def transaction(db: sqlite3.Connection) -> None:
            for operation in operations:
                queries.insert_operation(db, sale_id, operation, now)

        await self._writer.run_async(transaction)

    async def sale(self, sale_id: str) -> SaleRecord | None:
        return await self._reader.run_async(lambda db: queries.sale(db, sale_id))

    def sale_now(self, sale_id: str) -> SaleRecord | None:
        """``sale`` on the calling thread (``JournalReader.run``): the pass-through relay's,
        or the event loop's for the look-up by key every sale starts with."""
        return self._reader.run(lambda db: queries.sale(db, sale_id))

    async def set_sale_answer(self, sale_id: str, answer: dict[str, Any]) -> None:
        """Keep the answer given to the POS, so a repeated request gets the same one."""
        await self._writer.run_async(lambda db: queries.set_sale_answer(db, sale_id, answer))

    async def set_sale_state(self, sale_id: str, state: str) -> None:
        await self._writer.run_async(lambda db: queries.set_sale_state(db, sale_id, state))

    async def operation(self, operation_id: str) -> Operation | None:
        return await self._reader.run_async(lambda db: queries.operation(db, operation_id))

    async def operations_of_sale(self, sale_id: str) -> list[Operation]:
        return await self._reader.run_async(lambda db: queries.operations_of_sale(db, sale_id))

    async def operations_in(self, state: OperationState) -> list[Operation]:
        return await self._reader.run_async(lambda db: queries.operations_in(db, state))

    async def due_operations(self, now: float, limit: int) -> list[Operation]:
        """Operations to work on now, oldest first, at most one per customer (FIFO)."""
        return await self._reader.run_async(lambda db: due.due_operations(db, now, limit))

    async def move(
        self,
        operation_id: str,
        expected: OperationState,
        target: OperationState,
        *,
        now: float,
        **changes: Unpack[OperationChanges],
    ) -> Operation:
        """Move an operation from ``expected`` to ``target`` (compare-and-set).

        ``changes`` may set ``next_attempt_at``, ``last_error``, ``server_ref``, ``result``
        and ``payload`` (``OperationChanges``); moving into ``in_flight`` counts an attempt,
        and so does ``pending`` to ``pending`` or ``dead`` (tried, nothing able to apply sent).
        Raises JournalError if the move is not allowed or the operation is no longer in
        ``expected``.
        """
        if target not in TRANSITIONS[expected]:
            raise JournalError(f"operation {operation_id}: {expected} -> {target} is not allowed")

        def transaction(db: sqlite3.Connection) -> Operation:
            moved = queries.move(
                db, operation_id, expected=expected, target=target, now=now, changes=changes
            )
            claims.follow(db, moved)  # a lost claim's row answers what its operation found
            return moved

        return await self._writer.run_async(transaction)

    async def recover_after_restart(self, now: float) -> int:
        """At start: every ``in_flight`` operation may have applied, so it becomes ``unknown``;
        so does a giftcard payment or correction being sent (counted in the status alert and
        listed by register-agent review, also when the POS never sends it again), and a
        reward claim being sent, which gets its ``reward_claim`` operation."""

        def transaction(db: sqlite3.Connection) -> int:
            giftcards.recover_sending(db, now)
            return queries.recover_in_flight(db, now) + claims.recover_in_flight(db, now)

        return await self._writer.run_async(transaction)

    async def outbox_summary(self, now: float) -> OutboxSummary:
        return await self._reader.run_async(lambda db: queries.outbox_summary(db, now))

    async def print_jobs_due(self, now: float, freshness_s: float) -> list[PrintJob]:
        """Pending print jobs, oldest first; the stale ones are held for a reprint instead."""
        return await self._writer.run_async(lambda db: queries.print_jobs_due(db, now, freshness_s))

    async def add_reprint(self, sale_id: str, now: float) -> PrintJob:
        """The sale's receipt again: the original while it never printed, else a new copy
        (marked COPY when printed)."""
        return await self._writer.run_async(lambda db: queries.add_reprint(db, sale_id, now))

    async def held_receipts(self, since: float) -> list[str]:
        """The sales whose receipt waited too long for the printer (due after ``since``)."""
        return await self._reader.run_async(lambda db: queries.held_receipts(db, since))

    async def print_job_done(self, job_id: int, now: float) -> None:
        await self._writer.run_async(lambda db: queries.print_job_done(db, job_id, now))

    async def print_job_failed(self, job_id: int, error: str) -> None:
        await self._writer.run_async(lambda db: queries.print_job_failed(db, job_id, error))

    async def purge_finished(self, before: float) -> int:
        """Remove sales older than ``before`` whose operations and receipts are all finished,
        with their settled giftcard payments and reward claims."""

        def transaction(db: sqlite3.Connection) -> int:
            giftcards.purge(db, before)  # settled giftcard payments go with their sales
            removed = queries.purge_finished(db, before)
            claims.purge(db, before)  # after the sales: a claim stays while its sale does
            return removed

        return await self._writer.run_async(transaction)

    async def integrity_check(self) -> str:
        return await self._writer.run_async(
            lambda db: str(db.execute("PRAGMA integrity_check").fetchone()[0])
        )
