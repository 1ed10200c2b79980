"""The journal as the installer's commands see it (doctor, review, export, import): a
short-lived second connection next to the running agent's writer thread.

SQLite in WAL mode lets readers work beside the agent; a command that changes something
takes the write lock with ``BEGIN IMMEDIATE`` (waiting up to the ``busy_timeout`` while
the agent commits) and moves operations only by the compare-and-set of ``queries.move``,
so a person's decision can never overwrite a state the agent reached meanwhile.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from register_agent.errors import JournalError
from register_agent.journal import claims, identity, queries
from register_agent.journal.records import (
    TRANSITIONS,
    Operation,
    OperationChanges,
    OperationState,
)
from register_agent.journal.schema import migrate
from register_agent.journal.writer import open_connection

JOURNAL_FILE = "journal.sqlite3"  # the agent's file in the state directory (runtime/agent.py)


def journal_path(state_directory: Path) -> Path:
    return state_directory / JOURNAL_FILE


@contextmanager
def write_transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One committed transaction on the journal at ``path``, beside a running agent."""
    if not path.exists():
        raise JournalError(
            f"no journal at {path}: check [state] directory in the config (the agent "
            "creates the journal at its first start)"
        )
    connection = open_connection(path)
    sequence = 0
    try:
        migrate(connection)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        sequence = identity.sequence(connection)
    except sqlite3.Error as exc:
        raise JournalError(f"journal {path}: {exc}; try again in a moment") from exc
    finally:
        connection.close()
        _closed_after_us(path, sequence)


def _closed_after_us(path: Path, sequence: int) -> None:
    """With no agent running, this command's connection was the last: SQLite folded the
    -wal file into the journal and removed it. The marker must not then take that for a
    -wal file lost after a crash (``identity.check_before_open``)."""
    marker = identity.read_marker(path)
    if marker is not None and marker.open and not identity.wal_path(path).exists():
        known = max(sequence, marker.sequence)
        identity.write_marker(path, replace(marker, sequence=known, open=False))


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only look that creates and changes nothing (doctor, metrics)."""
    if not path.exists():
        raise JournalError(f"no journal at {path} yet (the agent creates it at its first start)")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot read the journal {path}: {exc}") from exc
    connection.row_factory = sqlite3.Row
    try:
        yield connection
    except sqlite3.Error as exc:
        raise JournalError(f"cannot read the journal {path}: {exc}") from exc
    finally:
        connection.close()


def record_decision(
    db: sqlite3.Connection,
    operation_id: str,
    decision: str,
    *,
    by: str,
    now: float,
    note: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO operation_decisions (operation_id, decision, decided_by, decided_at, note)"
        " VALUES (?, ?, ?, ?, ?)",
        (operation_id, decision, by, now, note),
    )


def move_by_hand(
    db: sqlite3.Connection,
    operation_id: str,
    expected: OperationState,
    target: OperationState,
    *,
    now: float | None = None,
) -> Operation:
    """``Journal.move`` for a person's decision: the same transitions, the same CAS."""
    if target not in TRANSITIONS[expected]:
        raise JournalError(f"operation {operation_id}: {expected} -> {target} is not allowed")
    moment = time.time() if now is None else now
    changes: OperationChanges = {}
    if target is OperationState.PENDING:
        changes["next_attempt_at"] = moment
    moved = queries.move(
        db, operation_id, expected=expected, target=target, now=moment, changes=changes
    )
    claims.follow(db, moved)  # a lost claim's row answers the person's decision
    return moved
