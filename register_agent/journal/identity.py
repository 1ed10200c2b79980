"""The journal knows it is this till's journal: an identity row inside the file and a
marker file beside it in the state directory, written when the journal is made, checked
at every start before the agent takes a sale.

A till that has a history (its marker, its generated local-API token, its cached register
info) never starts on an empty, missing, damaged or foreign journal, nor on one that has
lost rows it is known to have had: it stops with ``JournalNeedsDecision``, which names
what happened and the two ways on, ``register-agent journal recover`` and ``reset``
(``journal/salvage.py``). Without that stop a lost journal would start empty, and every
sale the POS sends again would be credited a second time.

What the marker can tell, and what not:

- the journal missing, empty, unreadable, or another journal (another id): always;
- the ``-wal`` file gone after the agent stopped without closing (kill -9, power cut): the
  marker says "open" while the agent runs and "closed" after a clean stop, and the write-
  ahead log of an agent that did not close is never removed by SQLite itself;
- rows lost that were in the journal at the last start or clean stop: the marker keeps
  the journal's sequence (the sum of its AUTOINCREMENT counters, which only ever grow,
  even when old rows are purged) at those moments, and the file must not be behind it;
- not: a ``-wal`` file cut short or damaged (but present) after a crash. SQLite stops
  reading it at the first bad frame without a word, and the rows written since the last
  start are gone without a trace the marker could hold (it is not rewritten per sale: a
  second fsync per sale would slow every sale down). Nor a sale that made no operation and
  no print job (a v3 sale without customer whose slip the POS prints).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from register_agent.errors import JournalError, JournalNeedsDecision

#: what else in the state directory shows that this till ran before: the local-API token
#: it generated (api/auth.py) and the register info it cached (runtime/housekeeping.py)
HISTORY_FILES = ("local-api-token", "register.json")
DECIDE = (
    "stop the agent and decide: `register-agent journal recover` keeps every row SQLite "
    "can still read (the damaged file is kept aside), `register-agent journal reset` "
    "starts an empty journal (the old file is kept aside; sales the POS sends again are "
    "credited again). Each says what it loses before it does anything"
)


@dataclass(frozen=True)
class Marker:
    """The state directory's record of its journal (``journal.id``, JSON)."""

    journal_id: str
    origin: str  # new, adopted, recovered, reset
    created_at: float
    sequence: int  # the journal's sequence at the last start or clean stop
    open: bool  # True while an agent runs on it: not closed cleanly if found at start


def marker_path(journal: Path) -> Path:
    """``journal.id`` beside ``journal.sqlite3`` (a journal of another name, as tests keep
    several in one folder, has a marker of its own)."""
    return journal.with_suffix(".id")


def lock_path(journal: Path) -> Path:
    return journal.with_suffix(".lock")


def wal_path(journal: Path) -> Path:
    return journal.with_name(journal.name + "-wal")


def read_marker(journal: Path) -> Marker | None:
    path = marker_path(journal)
    try:
        return Marker(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise JournalNeedsDecision(
            f"the journal's marker {path} cannot be read ({exc}); it tells whether the "
            f"journal beside it is this till's and whole. If the journal is whole, "
            f"`register-agent journal recover` keeps all of it; {DECIDE}"
        ) from exc


def write_marker(journal: Path, marker: Marker) -> None:
    """Replace the marker atomically and durably (temporary file, fsync, rename)."""
    path = marker_path(journal)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as file:
        json.dump(asdict(marker), file)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def history(journal: Path) -> list[str]:
    """What in the state directory says this till has run before (empty: a new till)."""
    names = [marker_path(journal).name, *HISTORY_FILES]
    return [name for name in names if (journal.parent / name).exists()]


def check_before_open(journal: Path) -> Marker | None:
    """Refuse what can be told before SQLite touches the file (SQLite would create a
    missing journal, and opening it brings a missing ``-wal`` file back empty)."""
    marker = read_marker(journal)
    seen = history(journal)
    size = journal.stat().st_size if journal.exists() else None
    if not size and seen:
        what = "is missing" if size is None else "is empty (0 bytes)"
        raise JournalNeedsDecision(
            f"the journal {journal} {what}, but this till has a history ({', '.join(seen)} "
            f"in {journal.parent}): the sales, credits and receipts it held are not there. "
            f"If you moved it, put it back; else {DECIDE}"
        )
    if size and marker is not None and marker.open and not wal_path(journal).exists():
        raise JournalNeedsDecision(
            f"the journal's write-ahead log {wal_path(journal).name} is gone, but the agent "
            f"did not stop cleanly (killed, or a power cut), so sales recorded since its last "
            f"start may have lived only there. If the journal was opened with another tool "
            f"since, nothing is lost and `register-agent journal recover` keeps it all; "
            f"else {DECIDE}"
        )
    return marker


def damaged(journal: Path, exc: BaseException) -> JournalNeedsDecision | None:
    """The refusal for a file SQLite finds damaged or not a database at all (a truncated
    or overwritten journal); None for any other failure (rights, space, I/O)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None or code & 0xFF not in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return None
    size = journal.stat().st_size if journal.exists() else 0
    return JournalNeedsDecision(
        f"the journal {journal} is damaged: SQLite says '{exc}' ({size} bytes; a file cut "
        f"short or overwritten); {DECIDE}"
    )


def sequence(db: sqlite3.Connection) -> int:
    """The journal's sequence: the sum of its AUTOINCREMENT counters (they only grow)."""
    row = db.execute("SELECT COALESCE(SUM(seq), 0) FROM sqlite_sequence").fetchone()
    return int(row[0])


def identity_row(db: sqlite3.Connection) -> tuple[str, str] | None:
    row = db.execute("SELECT journal_id, origin FROM journal_identity").fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def stamp(db: sqlite3.Connection, origin: str, note: str | None = None) -> str:
    """Give a journal without identity its identity row; returns its id."""
    journal_id = uuid.uuid4().hex
    db.execute(
        "INSERT INTO journal_identity (singleton, journal_id, origin, created_at, note)"
        " VALUES (1, ?, ?, ?, ?)",
        (journal_id, origin, time.time(), note),
    )
    return journal_id


def confirm(db: sqlite3.Connection, journal: Path, marker: Marker | None) -> Marker:
    """After the file opened and migrated: it must be undamaged, carry the marker's id
    and hold at least what the marker remembers. A journal without identity is made this
    till's (a new till: ``new``; a journal from before the marker existed: ``adopted``).
    Returns the marker to write (``open``)."""
    damage = str(db.execute("PRAGMA quick_check").fetchone()[0])
    if damage != "ok":
        raise JournalNeedsDecision(f"the journal {journal} is damaged ({damage}); {DECIDE}")
    found = identity_row(db)
    if found is None:
        if marker is not None:
            raise JournalNeedsDecision(
                f"the journal {journal} is not the one this till made (it has no "
                f"identity, the marker {marker_path(journal).name} names "
                f"{marker.journal_id[:8]}); if it is a backup put back by hand, {DECIDE}"
            )
        origin = "new" if not history(journal) and sequence(db) == 0 else "adopted"
        with _transaction(db):
            journal_id = stamp(db, origin)
        return Marker(journal_id, origin, time.time(), sequence(db), open=True)
    journal_id, origin = found
    if marker is None:  # the marker alone was lost: the file itself is whole
        return Marker(journal_id, origin, time.time(), sequence(db), open=True)
    _compare(journal, journal_id, marker, sequence(db))
    return replace(marker, sequence=sequence(db), open=True)


def inspect(db: sqlite3.Connection, journal: Path, marker: Marker | None) -> str:
    """``confirm`` without changing anything, for ``register-agent doctor``: a line that
    says whose journal this is, or ``JournalNeedsDecision`` as the agent would stop."""
    found = identity_row(db) if _has_identity_table(db) else None
    now = sequence(db)
    if found is None:
        if marker is not None:
            raise JournalNeedsDecision(
                f"the journal {journal} has no identity, but the marker "
                f"{marker_path(journal).name} names {marker.journal_id[:8]}; {DECIDE}"
            )
        return f"no identity yet (the agent gives it one at its next start); sequence {now}"
    journal_id, origin = found
    if marker is not None:
        _compare(journal, journal_id, marker, now)
    known = f", the marker remembers {marker.sequence}" if marker else ", no marker yet"
    return f"this till's journal {journal_id[:8]} ({origin}); sequence {now}{known}"


def _compare(journal: Path, journal_id: str, marker: Marker, now: int) -> None:
    if journal_id != marker.journal_id:
        raise JournalNeedsDecision(
            f"the journal {journal} is another journal ({journal_id[:8]}) than this till's "
            f"({marker.journal_id[:8]}, {marker_path(journal).name}): copied from another "
            f"till, or an old backup. Put this till's journal back, or {DECIDE}"
        )
    if now < marker.sequence:
        raise JournalNeedsDecision(
            f"the journal {journal} has lost rows: its sequence is {now}, and it was at "
            f"least {marker.sequence} at the last start or stop (an old backup, or its "
            f"write-ahead log removed or cut short); {DECIDE}"
        )


def _has_identity_table(db: sqlite3.Connection) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal_identity'"
    return db.execute(query).fetchone() is not None


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def hold(journal: Path) -> int:
    """The running agent's shared lock on the state directory's lock file: the journal
    commands take it exclusively, so they never move a journal an agent has open."""
    try:
        journal.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(lock_path(journal), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise JournalError(
            f"cannot use the state directory {journal.parent}: {exc}; check that it exists "
            "and is writable by the service user"
        ) from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(descriptor)
        raise JournalError(
            f"a `register-agent journal` command is working on {journal}; start the agent "
            "again when it has finished"
        ) from exc
    return descriptor


def release(descriptor: int) -> None:
    os.close(descriptor)  # closing the file drops its lock
