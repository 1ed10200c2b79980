"""The journal's open path, as the running agent takes it (``Journal.open``): the state
directory's lock, the identity checks before and after SQLite opens the file
(``journal/identity.py``), the migrations, and the marker written "open"; and at a clean
stop the marker written "closed".
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from dataclasses import replace
from pathlib import Path

from register_agent.errors import JournalError
from register_agent.journal import identity
from register_agent.journal.schema import migrate
from register_agent.journal.writer import JournalWriter, open_connection

log = logging.getLogger(__name__)


def open_checked(path: Path) -> tuple[int, identity.Marker]:
    """Check, open and migrate the journal at ``path``; return the held lock and the
    marker now written. Raises ``JournalNeedsDecision`` for a journal the till must not
    start on, ``JournalError`` for one it cannot use."""
    lock = identity.hold(path)
    try:
        marker = identity.check_before_open(path)
        connection = open_connection(path)
        try:
            migrate(connection)
            marker = identity.confirm(connection, path, marker)
            _fold_wal(connection)
        except sqlite3.Error as exc:
            raise identity.damaged(path, exc) or JournalError(
                f"cannot read the journal {path}: {exc}"
            ) from exc
        finally:
            connection.close()
        _write_open_marker(path, marker)
    except BaseException:
        identity.release(lock)
        raise
    return lock, marker


def _fold_wal(connection: sqlite3.Connection) -> None:
    """What the marker's sequence counts is in the main file from here on. On a full disk
    the fold cannot grow the main file: the -wal file stays, SQLite reads it as before,
    and the agent comes up all the same (its writes wait for space, refused with 503)."""
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode != sqlite3.SQLITE_FULL:
            raise
        log.warning("the journal's -wal file could not be folded in: the disk is full")


def _write_open_marker(path: Path, marker: identity.Marker) -> None:
    """The marker says "open" for this run. On a full disk it keeps what the last run
    wrote: a start must not fail for want of a few bytes (systemd would restart it into
    the same wall). What that costs: until the marker is written (at the clean stop), a
    -wal file lost after a crash of this run is not noticed by its sequence."""
    try:
        identity.write_marker(path, marker)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        log.warning("the journal's marker could not be written at the start: the disk is full")


def mark_closed(writer: JournalWriter, marker: identity.Marker) -> None:
    """Before the writer's connection, the last one, goes: the marker says "closed". A
    stop cut off between the two leaves the -wal file in place, and SQLite reads it at the
    next start, so "closed" with a -wal file left is harmless."""
    if not writer.alive():  # ended by a fatal error: the -wal file stays, the marker open
        return
    try:
        closed = replace(marker, sequence=writer.run(identity.sequence), open=False)
        identity.write_marker(writer.path, closed)
    except (OSError, JournalError) as exc:
        log.warning("the journal's marker could not be updated at the stop: %s", exc)
