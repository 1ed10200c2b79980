"""The two ways on from a journal the agent refuses to start on (``journal/identity.py``),
run by a person with the agent stopped: ``recover`` copies every row SQLite can still read
into a fresh journal, ``reset`` starts an empty one. Both keep the old file (and its
``-wal`` and ``-shm``) aside under a dated name and give the new journal a new identity,
so the marker names it from then on.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from register_agent.errors import JournalError
from register_agent.journal import identity
from register_agent.journal.schema import migrate
from register_agent.journal.writer import open_connection

#: the tables copied, parents first; the identity is the new journal's own
TABLES = (
    "sales",
    "operations",
    "print_jobs",
    "reward_claims",
    "operation_decisions",
    "giftcard_payments",
    "giftcard_decisions",
)
CHUNK = 500  # rows read at a time
#: past a damaged page: this many rowids in a row that hold nothing or cannot be read end
#: the table (rowids are dense once in use: only the oldest rows are ever purged)
MISSES = 1000
UNFINISHED = "('pending', 'in_flight')"
RECOVERED_NOTE = (
    "recovered: the journal was damaged, and a later state of this operation may have "
    "been lost with it; reconciled before it is sent again"
)


@dataclass
class Salvage:
    """What a recover or reset did: where the old file went, what the new one holds."""

    aside: Path | None  # the old journal, kept; None when there was none
    copied: dict[str, int] = field(default_factory=dict)  # table -> rows
    unreadable: dict[str, str] = field(default_factory=dict)  # table -> what was lost
    reconciled: int = 0  # unfinished operations made "unknown"


@contextmanager
def agent_stopped(journal: Path) -> Iterator[None]:
    """The state directory's lock, exclusively: no agent may have this journal open."""
    journal.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(identity.lock_path(journal), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise JournalError(
                f"the agent is running on {journal}: stop it first (systemctl stop "
                "register-agent), then run this command again; nothing was changed"
            ) from exc
        yield
    finally:
        os.close(descriptor)


def reset(journal: Path) -> Salvage:
    """Keep the old journal aside and start an empty one, this till's from now on."""
    with agent_stopped(journal):
        aside = _move_aside(journal, "reset")
        _fresh(journal, "reset", aside, lambda db: None)
        return Salvage(aside)


def recover(journal: Path) -> Salvage:
    """Keep the damaged journal aside and copy what SQLite can read of it into a new one."""
    with agent_stopped(journal):
        aside = _move_aside(journal, "damaged")
        result = Salvage(aside)
        rows = _read_all(aside, result) if aside is not None else {}

        def fill(db: sqlite3.Connection) -> None:
            for table in TABLES:
                result.copied[table] = _insert(db, table, rows.get(table, []))
            # a salvaged row may be older than what was lost with the damage (sent, or
            # done, since): nothing unfinished is sent again before it is reconciled
            result.reconciled = db.execute(
                "UPDATE operations SET state = 'unknown', last_error = ?"  # noqa: S608
                f" WHERE state IN {UNFINISHED}",
                (RECOVERED_NOTE,),
            ).rowcount

        _fresh(journal, "recovered", aside, fill)
        return result


def _move_aside(journal: Path, label: str) -> Path | None:
    """Rename the journal and its -wal and -shm files together (SQLite finds a -wal file
    by the main file's name); the main file's new path, or None when it did not exist."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = journal.with_name(f"{journal.name}.{label}-{stamp}")
    moved = None
    for suffix in ("", "-wal", "-shm"):
        source = journal.with_name(journal.name + suffix)
        if source.exists():
            source.replace(aside.with_name(aside.name + suffix))
            moved = aside if suffix == "" else moved
    return moved


def _fresh(journal: Path, origin: str, aside: Path | None, fill: Any) -> None:
    """A new journal at ``journal``, with its identity and its marker ("closed")."""
    connection = open_connection(journal)
    try:
        migrate(connection)
        connection.execute("PRAGMA foreign_keys=OFF")  # a row whose parent was lost stays
        connection.execute("BEGIN IMMEDIATE")
        try:
            fill(connection)
            journal_id = identity.stamp(connection, origin, note=str(aside) if aside else None)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        sequence = identity.sequence(connection)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot write the new journal {journal}: {exc}") from exc
    finally:
        connection.close()
    marker = identity.Marker(journal_id, origin, time.time(), sequence, open=False)
    identity.write_marker(journal, marker)


def _read_all(aside: Path, result: Salvage) -> dict[str, list[dict[str, Any]]]:
    """Every readable row of every table, read from a working copy (the kept file stays
    as it was found: opening it could fold its -wal file into it)."""
    work = aside.with_name(aside.name + ".reading")
    for suffix in ("", "-wal"):
        source = aside.with_name(aside.name + suffix)
        if source.exists():
            shutil.copyfile(source, work.with_name(work.name + suffix))
    _whole_pages(work)
    try:
        connection = sqlite3.connect(work)
        connection.row_factory = sqlite3.Row
        try:
            return {table: _read_table(connection, table, result) for table in TABLES}
        finally:
            connection.close()
    finally:
        for suffix in ("", "-wal", "-shm"):
            work.with_name(work.name + suffix).unlink(missing_ok=True)


def _whole_pages(work: Path) -> None:
    """A file cut off inside a page is "malformed" as a whole to SQLite: the working copy
    is filled up with zeros to the size its header names, so the pages that remain can be
    read (a zeroed page is then one damaged page among whole ones)."""
    data = work.read_bytes()[:100]
    if len(data) < 100 or not data.startswith(b"SQLite format 3\x00"):
        return
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(data[28:32], "big")
    size = work.stat().st_size
    wanted = max(pages * page_size, -(-size // page_size) * page_size)
    if wanted > size:
        with work.open("r+b") as file:
            file.truncate(wanted)  # the new bytes read as zeros


def _read_table(db: sqlite3.Connection, table: str, result: Salvage) -> list[dict[str, Any]]:
    """The table's rows in rowid order. A scan stops at the first page it cannot read;
    from there each rowid is asked for on its own, which only fails for the rows on a
    damaged page, until MISSES rowids in a row hold nothing (the end of the table)."""
    rows: list[dict[str, Any]] = []
    last = _first_rowid(db, table) - 1
    while True:
        try:
            chunk = db.execute(
                f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid > ?"  # noqa: S608
                " ORDER BY rowid LIMIT ?",
                (last, CHUNK),
            ).fetchall()
        except sqlite3.Error as exc:
            if "no such table" in str(exc):  # a journal of an older schema
                return rows
            return rows + _one_by_one(db, table, last, result, exc)
        if not chunk:
            return rows
        rows += [dict(row) for row in chunk]
        last = int(chunk[-1]["_rowid"])


def _first_rowid(db: sqlite3.Connection, table: str) -> int:
    try:
        first = db.execute(f"SELECT MIN(rowid) FROM {table}").fetchone()[0]  # noqa: S608
    except sqlite3.Error:
        return 1
    return int(first) if first is not None else 1


def _one_by_one(
    db: sqlite3.Connection, table: str, last: int, result: Salvage, exc: sqlite3.Error
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    misses, rowid = 0, last
    while misses < MISSES:  # a rowid that fails or holds nothing is a miss
        rowid += 1
        try:
            row = db.execute(
                f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid = ?",  # noqa: S608
                (rowid,),
            ).fetchone()
        except sqlite3.Error:
            misses += 1
            continue
        if row is None:
            misses += 1
        else:
            rows.append(dict(row))
            misses = 0
    result.unreadable[table] = (
        f"not every row after #{last} could be read ({exc}); {len(rows)} of them were"
    )
    return rows


def _insert(db: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> int:
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    count = 0
    for row in rows:
        names = [name for name in columns if name in row]
        marks = ", ".join("?" for _ in names)
        inserted = db.execute(
            f"INSERT OR IGNORE INTO {table} ({', '.join(names)}) VALUES ({marks})",  # noqa: S608
            [row[name] for name in names],
        )
        count += inserted.rowcount
    return count
