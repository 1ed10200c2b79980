"""What the outbox is handed next: the due operations, one per customer (the oldest of
each), the newest sales first. Read on the journal's reader connection
(``Journal.due_operations``), so the outbox never waits behind the writer's fsyncs; and
of a sale's new operations, those it may start at once (``first_in_line``, asked in the
transaction that writes them).
"""

from __future__ import annotations

import json
import sqlite3

from register_agent.journal.records import Operation

#: the newest operations looked at first: a sale just made is the one a cashier waits for
FRESH = 8
#: the operation ``o`` has nothing of its customer's still to be done before it: one probe
#: of the partial index of the operations still to be done (schema 6), whose condition the
#: state list below must repeat word for word for SQLite to use it
FIRST_OF_ITS_CUSTOMER = (
    "NOT EXISTS (SELECT 1 FROM operations AS p INDEXED BY operations_active"
    " WHERE p.customer_key = o.customer_key AND p.seq < o.seq"
    " AND p.state IN ('pending', 'in_flight', 'unknown'))"
)


def due_operations(db: sqlite3.Connection, now: float, limit: int) -> list[Operation]:
    # One customer's operations go in order: an operation waits while an older one of the
    # same customer is still active. Parked ones (review, dead) hold nobody up. A NULL
    # customer (a staged reception) never waits: NULL = NULL is not true in SQL.
    if not _anything_due(db, now):
        return []
    # Behind a backlog, the newest due ones first, the newest of all first (a customer at
    # the counter, whose answer waits for the credits: at most FRESH rows of the index
    # walked), then the rest in delivery order: a backlog after an outage drains behind
    # the sales being made, never in front of them. Each customer's order holds either way.
    fresh = db.execute(
        "SELECT * FROM operations AS o INDEXED BY operations_waiting"  # noqa: S608 (constant)
        " WHERE o.seq > (SELECT MAX(seq) FROM operations) - ?"
        " AND o.state IN ('pending', 'unknown') AND o.next_attempt_at <= ?"
        f" AND {FIRST_OF_ITS_CUSTOMER}"
        " ORDER BY o.seq DESC",
        (FRESH, now),
    ).fetchall()[:limit]
    # Walk the waiting rows in delivery order (the partial index) and stop at ``limit``:
    # with 100,000 operations queued offline, sorting all of them made every sale wait for
    # a quarter of a second (bench/README.md).
    rows = db.execute(
        "SELECT * FROM operations AS o INDEXED BY operations_waiting"  # noqa: S608 (constant)
        " WHERE o.state IN ('pending', 'unknown') AND o.next_attempt_at <= ?"
        f" AND {FIRST_OF_ITS_CUSTOMER}"
        " ORDER BY o.seq LIMIT ?",
        (now, limit),
    ).fetchall()
    seen = {row["seq"] for row in rows}
    rows = [row for row in fresh if row["seq"] not in seen] + rows
    return [Operation.from_row(row) for row in rows[:limit]]


def first_in_line(db: sqlite3.Connection, ids: list[str], now: float) -> list[Operation]:
    """Of the operations ``ids`` (a sale's, in the transaction that writes them), those the
    due list would hand out at ``now``: pending, due, first of their customer's, in order."""
    if not ids:
        return []
    # The sale's ids first, each looked up by its key (CROSS JOIN fixes SQLite's loop
    # order): left to itself the planner walked the due index instead, every pending due
    # operation of the backlog, 1.8 ms per sale at 10,000 after an outage, on the writer
    # while the cashier waits.
    rows = db.execute(
        "SELECT o.* FROM json_each(?) AS wanted CROSS JOIN operations AS o"  # noqa: S608 (constant)
        f" ON o.id = wanted.value WHERE o.state = 'pending' AND o.next_attempt_at <= ?"
        f" AND {FIRST_OF_ITS_CUSTOMER} ORDER BY o.seq",
        (json.dumps(ids), now),
    ).fetchall()
    return [Operation.from_row(row) for row in rows]


def _anything_due(db: sqlite3.Connection, now: float) -> bool:
    """Whether any waiting operation is due: one look at each end of the due index."""
    for state in ("pending", "unknown"):
        earliest = db.execute(
            "SELECT MIN(next_attempt_at) FROM operations WHERE state = ?", (state,)
        ).fetchone()[0]
        if earliest is not None and earliest <= now:
            return True
    return False
