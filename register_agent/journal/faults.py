"""What the journal's storage is doing to it: a full disk or a damaged file, as the writer
and the reader meet them (``writer.py``). The agent stays up through both; every write is
refused with a ``JournalUnavailable`` meanwhile, and ``TillHealth``, the systemd status line
and the metrics read the fault from here.

A full disk passes: SQLite rolls the refused transaction back whole and the file stays
consistent, so the next write is simply tried again, and the first one that commits clears
the fault. A damaged file does not pass: corruption (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``)
or an I/O error of the storage (after a failed fsync the page cache may hold what the card
never took, so writing on could build on a lie) stops every write until an operator has
run ``register-agent journal recover`` and restarted the agent.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from register_agent.errors import JournalUnavailable

log = logging.getLogger(__name__)

FaultKind = Literal["disk_full", "damaged"]

#: an I/O error while the state directory's file system has less than this free is a
#: full disk: SQLite reports some ENOSPC (growing the -shm file) as SQLITE_IOERR
NEARLY_FULL_BYTES = 64 * 1024
_DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


@dataclass(frozen=True)
class JournalFault:
    kind: FaultKind
    detail: str  # SQLite's own words, e.g. "database or disk is full"
    since: float  # wall clock


class JournalHealth:
    """The journal's current fault, set and cleared by the writer and reader threads."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._fault: JournalFault | None = None

    @property
    def fault(self) -> JournalFault | None:
        return self._fault

    def refuse_if_damaged(self) -> None:
        """A damaged journal takes no write at all, not even a try (it could spread)."""
        fault = self._fault
        if fault is not None and fault.kind == "damaged":
            raise refusal(fault)

    def failed(self, exc: sqlite3.Error) -> JournalUnavailable | None:
        """The error a storage failure becomes (and the fault it leaves); None when ``exc``
        is not one (a constraint, a busy lock: the transaction's own business)."""
        kind = self._kind_of(exc)
        if kind is None:
            return None
        with self._lock:
            fault = self._fault
            if fault is None or fault.kind not in (kind, "damaged"):  # damage stays damage
                fault = self._fault = JournalFault(kind, str(exc), time.time())
                _log_fault(self._path, fault)
        return refusal(fault)

    def wrote(self) -> None:
        """A write committed: a full disk is over (a damaged file never gets here)."""
        if self._fault is None:
            return
        with self._lock:
            if self._fault is not None and self._fault.kind == "disk_full":
                log.warning("the journal is written again: the disk has space")
                self._fault = None

    def _kind_of(self, exc: sqlite3.Error) -> FaultKind | None:
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:
            return None
        primary = code & 0xFF
        if primary == sqlite3.SQLITE_FULL:
            return "disk_full"
        if primary in _DAMAGE_CODES:
            return "damaged"
        if primary == sqlite3.SQLITE_IOERR:
            return "disk_full" if self._nearly_full() else "damaged"
        return None

    def _nearly_full(self) -> bool:
        try:
            return shutil.disk_usage(self._path.parent).free < NEARLY_FULL_BYTES
        except OSError:
            return False


def refusal(fault: JournalFault) -> JournalUnavailable:
    if fault.kind == "disk_full":
        message = f"the journal's disk is full ({fault.detail}); free space on it"
    else:
        message = (
            f"the journal is damaged ({fault.detail}); run `register-agent doctor`, then "
            "`register-agent journal recover` and restart the agent"
        )
    return JournalUnavailable(message, kind=fault.kind)


def _log_fault(path: Path, fault: JournalFault) -> None:
    if fault.kind == "disk_full":
        log.error(
            "the disk of the journal %s is full (%s): sales are refused until space is "
            "freed; the agent goes on by itself then",
            path,
            fault.detail,
        )
    else:
        log.critical(
            "the journal %s is damaged (%s): sales are refused and nothing more is written; "
            "run `register-agent journal recover`, then restart the agent",
            path,
            fault.detail,
        )
