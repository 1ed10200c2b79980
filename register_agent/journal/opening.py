"""The journal's open path, as the running agent takes it (``Journal.open``): the state
directory's lock, the identity checks before and after SQLite opens the file
(``journal/identity.py``), the migrations, and the marker written "open"; and at a clean
stop the marker written "closed".
"""

from __future__ import annotations

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
            # what the marker's sequence counts is in the main file from here on
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise identity.damaged(path, exc) or JournalError(
                f"cannot read the journal {path}: {exc}"
            ) from exc
        finally:
            connection.close()
        identity.write_marker(path, marker)
    except BaseException:
        identity.release(lock)
        raise
    return lock, marker


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
