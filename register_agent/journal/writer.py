"""The journal's one writer: a thread that owns the SQLite connection and runs every
transaction, so an fsync on a slow SD card (10-50 ms) never stalls the event loop.

The writer refuses to start unless the connection really runs in WAL mode with
``synchronous=FULL``; an I/O error, a full disk or corruption during a transaction ends the
process (systemd restarts it) instead of carrying on with a journal that may have lost a
sale.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from register_agent.errors import JournalError

log = logging.getLogger(__name__)

T = TypeVar("T")
Transaction = Callable[[sqlite3.Connection], T]

#: primary SQLite result codes after which the file can no longer be trusted
FATAL_SQLITE_CODES = frozenset({sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CORRUPT})
SYNCHRONOUS_FULL = 2
EXIT_JOURNAL_FAILED = 75  # EX_TEMPFAIL: systemd's Restart= brings the agent back


def exit_process(exc: BaseException) -> None:
    """The default reaction to a fatal journal error: stop at once, let systemd restart us."""
    log.critical("the journal cannot be written safely (%s); stopping so systemd restarts", exc)
    logging.shutdown()
    os._exit(EXIT_JOURNAL_FAILED)


class JournalWriter:
    """Runs transactions one at a time on a dedicated thread; ``BEGIN IMMEDIATE`` each."""

    def __init__(self, path: Path, *, on_fatal: Callable[[BaseException], None] = exit_process):
        self.path = path
        self._on_fatal = on_fatal
        self._jobs: queue.SimpleQueue[tuple[Transaction[Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        opened: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(opened,), name="journal-writer", daemon=True
        )
        self._thread.start()
        opened.result()  # re-raises JournalError from the thread

    def _run(self, opened: Future[None]) -> None:
        try:
            connection = open_connection(self.path)
        except JournalError as exc:
            opened.set_exception(exc)
            return
        opened.set_result(None)
        try:
            while (job := self._jobs.get()) is not None:
                transaction, result = job
                if result.set_running_or_notify_cancel():
                    self._execute(connection, transaction, result)
        finally:
            connection.close()

    def _execute(
        self, connection: sqlite3.Connection, transaction: Transaction[Any], result: Future[Any]
    ) -> None:
        try:
            connection.execute("BEGIN IMMEDIATE")
            value = transaction(connection)
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(connection)
            if _is_fatal(exc):
                self._on_fatal(exc)  # first: nobody may act on this failure before it
                result.set_exception(JournalError(f"journal write failed: {exc}"))
                return
            result.set_exception(JournalError(f"journal write refused: {exc}"))
        except BaseException as exc:  # noqa: BLE001 (a bug in the transaction: rolled back, handed to the caller)
            _rollback(connection)
            result.set_exception(exc)
        else:
            result.set_result(value)

    def submit(self, transaction: Transaction[T]) -> Future[T]:
        """Queue a transaction; the future holds its value once it is committed."""
        if not self._thread.is_alive():
            raise JournalError("the journal is closed")
        result: Future[T] = Future()
        self._jobs.put((transaction, result))
        return result

    def run(self, transaction: Transaction[T]) -> T:
        """Run a transaction and wait for its commit (for synchronous callers)."""
        return self.submit(transaction).result()

    async def run_async(self, transaction: Transaction[T]) -> T:
        """Run a transaction without blocking the event loop; returns after the commit."""
        return await asyncio.wrap_future(self.submit(transaction))

    def close(self) -> None:
        """Finish the queued transactions, then close the connection."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()


def open_connection(path: Path) -> sqlite3.Connection:
    """Open the journal file and prove it is durable: WAL mode and ``synchronous=FULL``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=5000")
        journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = connection.execute("PRAGMA synchronous").fetchone()[0]
    except (OSError, sqlite3.Error) as exc:
        raise JournalError(
            f"cannot open the journal {path}: {exc}; check that the state directory exists, "
            "is writable by the service user and has free space"
        ) from exc
    if str(journal_mode).lower() != "wal" or synchronous != SYNCHRONOUS_FULL:
        connection.close()
        raise JournalError(
            f"the journal {path} refused WAL mode with synchronous=FULL (got {journal_mode}, "
            f"{synchronous}); put the state directory on a local file system"
        )
    return connection


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        try:
            connection.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("journal rollback failed")


def _is_fatal(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in FATAL_SQLITE_CODES
