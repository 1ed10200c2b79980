"""The journal's SQL, one function per question or change; each runs inside a transaction
that the writer thread opened, so none of them commits by itself."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from register_agent.errors import JournalError
from register_agent.journal.payloads import StoredJson
from register_agent.journal.records import (
    ACTIVE_STATES,
    NewOperation,
    Operation,
    OperationChanges,
    OperationState,
    OutboxSummary,
    PrintJob,
    PrintJobState,
    SaleRecord,
    dumps,
)
from register_agent.journal.scrub import scrub_cards

# the states of records.ACTIVE_STATES, spelt out for SQL
_ACTIVE = "'pending', 'in_flight', 'unknown'"
assert {state.value for state in ACTIVE_STATES} == set(_ACTIVE.replace("'", "").split(", "))
_CHANGEABLE = frozenset(OperationChanges.__annotations__)


def sale(db: sqlite3.Connection, sale_id: str) -> SaleRecord | None:
    row = db.execute("SELECT * FROM sales WHERE sale_id = ?", (sale_id,)).fetchone()
    return SaleRecord.from_row(row) if row else None


def insert_sale(db: sqlite3.Connection, record: SaleRecord) -> None:
    db.execute(
        "INSERT INTO sales (sale_id, request_digest, amount_cents, currency, customer_key,"
        " request, answer, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.sale_id,
            record.request_digest,
            record.amount_cents,
            record.currency,
            record.customer_key,
            dumps(record.request),
            dumps(record.answer),
            record.state,
            record.created_at,
        ),
    )


def set_sale_answer(db: sqlite3.Connection, sale_id: str, answer: dict[str, Any]) -> None:
    cursor = db.execute("UPDATE sales SET answer = ? WHERE sale_id = ?", (dumps(answer), sale_id))
    if cursor.rowcount != 1:
        raise JournalError(f"sale {sale_id} is not in the journal")


def set_sale_state(db: sqlite3.Connection, sale_id: str, state: str) -> None:
    if db.execute("UPDATE sales SET state = ? WHERE sale_id = ?", (state, sale_id)).rowcount != 1:
        raise JournalError(f"sale {sale_id} is not in the journal")


def insert_operation(
    db: sqlite3.Connection, sale_id: str | None, operation: NewOperation, now: float
) -> None:
    db.execute(
        "INSERT INTO operations (id, sale_id, kind, customer_key, payload, state,"
        " next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
        (
            operation.id,
            sale_id,
            operation.kind,
            operation.customer_key,
            dumps(operation.payload.to_json()),
            now,
            now,
            now,
        ),
    )


def operation(db: sqlite3.Connection, operation_id: str) -> Operation | None:
    row = db.execute("SELECT * FROM operations WHERE id = ?", (operation_id,)).fetchone()
    return Operation.from_row(row) if row else None


def operations_of_sale(db: sqlite3.Connection, sale_id: str) -> list[Operation]:
    rows = db.execute("SELECT * FROM operations WHERE sale_id = ? ORDER BY seq", (sale_id,))
    return [Operation.from_row(row) for row in rows]


def operations_in(db: sqlite3.Connection, state: OperationState) -> list[Operation]:
    rows = db.execute("SELECT * FROM operations WHERE state = ? ORDER BY seq", (str(state),))
    return [Operation.from_row(row) for row in rows]


#: a pending operation's moves after an attempt that sent nothing able to apply
_TRIED = (OperationState.PENDING, OperationState.DEAD)


def move(
    db: sqlite3.Connection,
    operation_id: str,
    *,
    expected: OperationState,
    target: OperationState,
    now: float,
    changes: OperationChanges,
) -> Operation:
    unknown = set(changes) - _CHANGEABLE
    if unknown:
        raise JournalError(f"operation {operation_id}: cannot change {sorted(unknown)}")
    columns = {key: _column_value(key, value) for key, value in changes.items()}
    assignments = "".join(f", {key} = :{key}" for key in columns)
    # an attempt: sending, or failing before anything that can apply was sent
    sending = target is OperationState.IN_FLIGHT and expected is not OperationState.IN_FLIGHT
    tried = expected is OperationState.PENDING and target in _TRIED
    sending = sending or tried
    attempt = ", attempts = attempts + 1" if sending else ""
    cursor = db.execute(
        f"UPDATE operations SET state = :target, updated_at = :now{attempt}{assignments}"  # noqa: S608 (column names come from _CHANGEABLE)
        " WHERE id = :id AND state = :expected",
        {
            **columns,
            "target": str(target),
            "now": now,
            "id": operation_id,
            "expected": str(expected),
        },
    )
    if cursor.rowcount != 1:
        raise JournalError(f"operation {operation_id} is not {expected} any more")
    row: Mapping[str, Any] = db.execute(
        "SELECT * FROM operations WHERE id = ?", (operation_id,)
    ).fetchone()
    if target in (OperationState.DONE, OperationState.DEAD):
        row = scrub_cards(db, row)  # the card value is not needed any more
    return Operation.from_row(row)


def _column_value(key: str, value: object) -> object:
    """A change as its column stores it: the payload and result as JSON text."""
    return dumps(value.to_json()) if isinstance(value, StoredJson) else value


def recover_in_flight(db: sqlite3.Connection, now: float) -> int:
    return db.execute(
        "UPDATE operations SET state = 'unknown', updated_at = ?,"
        " last_error = 'the agent stopped while this request was in flight'"
        " WHERE state = 'in_flight'",
        (now,),
    ).rowcount


def outbox_summary(db: sqlite3.Connection, now: float) -> OutboxSummary:
    counts = dict.fromkeys(OperationState, 0)
    for state, count in db.execute("SELECT state, COUNT(*) FROM operations GROUP BY state"):
        counts[OperationState(state)] = count
    oldest = db.execute(
        f"SELECT MIN(created_at) FROM operations WHERE state IN ({_ACTIVE})"  # noqa: S608 (constant)
    ).fetchone()[0]
    return OutboxSummary(
        pending=counts[OperationState.PENDING],
        in_flight=counts[OperationState.IN_FLIGHT],
        unknown=counts[OperationState.UNKNOWN],
        review=counts[OperationState.REVIEW],
        dead=counts[OperationState.DEAD],
        oldest_pending_age_s=None if oldest is None else max(0.0, now - oldest),
    )


def print_jobs_due(db: sqlite3.Connection, now: float, freshness_s: float) -> list[PrintJob]:
    # A job that waited longer than the freshness window (the printer was off all morning)
    # is held: a new paper roll must not spit out a morning's slips. A reprint is new.
    db.execute(
        "UPDATE print_jobs SET state = 'held' WHERE state = 'pending' AND created_at < ?",
        (now - freshness_s,),
    )
    rows = db.execute("SELECT * FROM print_jobs WHERE state = 'pending' ORDER BY id")
    return [PrintJob.from_row(row) for row in rows]


def add_reprint(db: sqlite3.Connection, sale_id: str, now: float) -> PrintJob:
    if sale(db, sale_id) is None:
        raise JournalError(f"sale {sale_id} is not in the journal")
    # An original that never printed (held, or still waiting for the printer) is what the
    # reprint prints: the customer has no receipt yet, so it is no copy, and it stays
    # unprinted until the printer took it. Its created_at becomes the time it was asked
    # for again, so the freshness rule does not hold it at once; the slip prints the
    # sale's own time, which the sale keeps.
    original = db.execute(
        "UPDATE print_jobs SET state = 'pending', created_at = ? WHERE sale_id = ?"
        " AND copy = 0 AND state IN ('held', 'pending') RETURNING *",
        (now, sale_id),
    ).fetchone()
    if original is not None:
        return PrintJob.from_row(original)
    copy = db.execute(
        "SELECT COALESCE(MAX(copy), -1) + 1 FROM print_jobs WHERE sale_id = ?", (sale_id,)
    ).fetchone()[0]
    cursor = db.execute(
        "INSERT INTO print_jobs (sale_id, copy, state, created_at) VALUES (?, ?, 'pending', ?)",
        (sale_id, max(copy, 1), now),
    )
    row = db.execute("SELECT * FROM print_jobs WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return PrintJob.from_row(row)


def held_receipts(db: sqlite3.Connection, since: float) -> list[str]:
    """The sales whose receipt was held (never printed) and was due after ``since``."""
    rows = db.execute(
        "SELECT DISTINCT sale_id FROM print_jobs WHERE state = 'held' AND created_at >= ?"
        " ORDER BY id",
        (since,),
    )
    return [row[0] for row in rows]


def insert_print_job(db: sqlite3.Connection, sale_id: str, copy: int, now: float) -> None:
    db.execute(
        "INSERT INTO print_jobs (sale_id, copy, state, created_at) VALUES (?, ?, 'pending', ?)",
        (sale_id, copy, now),
    )


def print_job_done(db: sqlite3.Connection, job_id: int, now: float) -> None:
    db.execute(
        "UPDATE print_jobs SET state = ?, printed_at = ?, attempts = attempts + 1 WHERE id = ?",
        (str(PrintJobState.PRINTED), now, job_id),
    )


def print_job_failed(db: sqlite3.Connection, job_id: int, error: str) -> None:
    db.execute(
        "UPDATE print_jobs SET attempts = attempts + 1, last_error = ? WHERE id = ?",
        (error, job_id),
    )


def purge_finished(db: sqlite3.Connection, before: float) -> int:
    finished = (
        "SELECT sale_id FROM sales WHERE created_at < :before"
        " AND NOT EXISTS (SELECT 1 FROM operations WHERE operations.sale_id = sales.sale_id"
        "   AND state NOT IN ('done', 'dead', 'exported'))"
        " AND NOT EXISTS (SELECT 1 FROM print_jobs WHERE print_jobs.sale_id = sales.sale_id"
        "   AND state = 'pending')"
    )
    params = {"before": before}
    db.execute(
        "DELETE FROM operation_decisions WHERE operation_id IN"  # noqa: S608
        f" (SELECT id FROM operations WHERE sale_id IN ({finished}))",
        params,
    )
    db.execute(f"DELETE FROM operations WHERE sale_id IN ({finished})", params)  # noqa: S608
    db.execute(f"DELETE FROM refunds WHERE sale_id IN ({finished})", params)  # noqa: S608
    db.execute(f"DELETE FROM print_jobs WHERE sale_id IN ({finished})", params)  # noqa: S608
    return db.execute(f"DELETE FROM sales WHERE sale_id IN ({finished})", params).rowcount  # noqa: S608
