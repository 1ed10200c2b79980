"""The journal's one writer: a thread that owns the SQLite connection and runs every
transaction, so an fsync on a slow SD card (10-50 ms) never stalls the event loop. What
queued up while it waited for the disk is committed together (group commit): one fsync
for many transactions, each still all or nothing.

The writer refuses to start unless the connection really runs in WAL mode with
``synchronous=FULL``. A full disk, corruption or an I/O error during a transaction rolls
the whole group back and refuses it with a ``JournalUnavailable`` (``faults.py``): the
agent stays up and says so, a full disk is tried again with the next write, a damaged file
takes no write at all until an operator has acted. No caller ever hears "committed" of a
transaction that was not.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from register_agent.errors import JournalError
from register_agent.journal.faults import JournalHealth
from register_agent.journal.identity import damaged

log = logging.getLogger(__name__)

T = TypeVar("T")
Transaction = Callable[[sqlite3.Connection], T]
Job = tuple[Transaction[Any], Future[Any]]
#: transactions committed together at most (one fsync for all of them)
MAX_GROUP = 64

SYNCHRONOUS_FULL = 2


class JournalWriter:
    """Runs transactions one at a time on a dedicated thread; ``BEGIN IMMEDIATE`` each."""

    def __init__(self, path: Path, health: JournalHealth | None = None) -> None:
        self.path = path
        self.health = health or JournalHealth(path)
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._closing = False
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
            while not self._closing:
                group = self._next_group()  # may end with the close: then this is the last
                if group:
                    self._execute_group(connection, group)
        finally:
            connection.close()

    def _next_group(self) -> list[Job]:
        """The next transactions to commit together: the first waited for, the rest that
        are already queued (at most MAX_GROUP). Meeting the close marks the writer closing."""
        group: list[Job] = []
        job = self._jobs.get()
        while job is not None:
            if job[1].set_running_or_notify_cancel():
                group.append(job)
            if len(group) >= MAX_GROUP:
                return group
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return group
        self._closing = True
        return group

    def _execute_group(self, connection: sqlite3.Connection, group: list[Job]) -> None:
        """Group commit: every queued transaction in one SQLite transaction and one fsync,
        each inside its own savepoint so a refused one takes nothing else with it (one
        alone needs none: refused, the whole is rolled back; two statements fewer on the
        writer's most common group). A caller hears of its result only after the COMMIT
        (durable) or a rollback."""
        committed: list[tuple[Future[Any], Any]] = []
        changes = connection.total_changes
        try:
            self.health.refuse_if_damaged()
            connection.execute("BEGIN IMMEDIATE")
            alone = len(group) == 1
            for transaction, result in group:
                self._execute_one(connection, transaction, result, committed, alone=alone)
            if connection.in_transaction:  # not when a transaction alone was refused
                connection.execute("COMMIT")
        except (sqlite3.Error, JournalError) as exc:  # a storage failure, or the COMMIT's
            _rollback(connection)
            failure = exc if isinstance(exc, JournalError) else self._failure(exc)
            for _, result in group:  # the savepoints that got through are undone too
                if not result.done():
                    result.set_exception(failure)
            return
        if connection.total_changes > changes:  # a question alone proves no space
            self.health.wrote()
        for result, value in committed:
            result.set_result(value)

    def _failure(self, exc: sqlite3.Error) -> JournalError:
        refused = self.health.failed(exc)
        if refused is not None:
            return refused
        log.error("journal: a group of transactions failed and was rolled back: %s", exc)
        return JournalError(f"journal write failed: {exc}")

    def _execute_one(
        self,
        connection: sqlite3.Connection,
        transaction: Transaction[Any],
        result: Future[Any],
        committed: list[tuple[Future[Any], Any]],
        *,
        alone: bool,
    ) -> None:
        if not alone:
            connection.execute("SAVEPOINT job")
        try:
            value = transaction(connection)
        except sqlite3.Error as exc:
            if self.health.failed(exc) is not None:
                raise  # the storage failed: the whole group goes
            _undo_job(connection, alone=alone)
            result.set_exception(JournalError(f"journal write refused: {exc}"))
        except BaseException as exc:  # noqa: BLE001 (a bug in the transaction: undone, handed to the caller)
            _undo_job(connection, alone=alone)
            result.set_exception(exc)
        else:
            if not alone:
                connection.execute("RELEASE job")
            committed.append((result, value))

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

    def alive(self) -> bool:
        """False once closed, or ended by a fatal error."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Finish the queued transactions, then close the connection."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()


class JournalReader:
    """Questions to the journal on a second connection and thread of their own, so a
    status poll or the outbox's "what is due" never waits behind the writer's fsyncs
    (WAL lets one reader and one writer work at once; bench/README.md)."""

    def __init__(self, path: Path, health: JournalHealth | None = None) -> None:
        self.path = path
        self._health = health or JournalHealth(path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-reader")
        self._connection: sqlite3.Connection | None = None
        #: ``run``'s own connection, for threads that are not the loop's
        self._direct: sqlite3.Connection | None = None
        self._direct_lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA busy_timeout=5000")
        return connection

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._open()
        return self._connection

    def _read(self, question: Transaction[T], connection: sqlite3.Connection | None = None) -> T:
        connection = connection or self._connect()
        try:
            return question(connection)
        except sqlite3.Error as exc:
            refused = self._health.failed(exc)  # a damaged page stops the writes too
            raise refused or JournalError(f"journal read failed: {exc}") from exc

    async def run_async(self, question: Transaction[T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._read, question)

    def run(self, question: Transaction[T]) -> T:
        """``run_async`` on the calling thread: on a second read-only connection (WAL:
        readers never wait for each other or for the writer), so it neither hops to the
        reader's thread nor queues behind the loop's questions. For a thread of its own
        (the pass-through relay's), and on the event loop only for a question as small as
        a look-up by key (``Journal.sale_now``): a scan belongs on the reader's thread."""
        with self._direct_lock:
            if self._direct is None:
                self._direct = self._open()
            return self._read(question, self._direct)

    def close(self) -> None:
        def shut() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        self._pool.submit(shut).result()
        self._pool.shutdown(wait=True)
        with self._direct_lock:
            if self._direct is not None:
                self._direct.close()
                self._direct = None


def open_connection(path: Path) -> sqlite3.Connection:
    """Open the journal file and prove it is durable: WAL mode and ``synchronous=FULL``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        # overwrite what is deleted or replaced: a scrubbed card value must not linger
        connection.execute("PRAGMA secure_delete=ON")
        connection.execute("PRAGMA busy_timeout=5000")
        journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = connection.execute("PRAGMA synchronous").fetchone()[0]
    except (OSError, sqlite3.Error) as exc:
        if (damage := damaged(path, exc)) is not None:  # not a matter of rights or space
            raise damage from exc
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


def _undo_job(connection: sqlite3.Connection, *, alone: bool) -> None:
    if alone:
        connection.execute("ROLLBACK")
    else:
        connection.execute("ROLLBACK TO job")
        connection.execute("RELEASE job")


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        try:
            connection.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("journal rollback failed")
