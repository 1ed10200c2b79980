"""The floor of a sale with a card, measured in the same run as the agent's answer: what
any till must do for it, made bare, one step after the other. One FULL-sync SQLite commit
(the sale made durable before anything is sent), one empty request to the agent's local
API (the POS's round trip) and the Register API requests the agent made for the sale
(the card's look-up, the POS transaction, the credit reception), on one httpx client.

``commits=4`` is the floor with the durable commits the agent's exactly-once path makes for
a credited sale (docs/architecture.md): the sale before anything is sent, the delivery in
flight with its POS transaction before the credit is asked, the delivery done, the answer
kept for a repeat. The till cannot answer with less and keep its promise, so the agent is
also measured against that.

``handed=True`` makes each of those commits on a writer thread of its own and waits for it
there (``HandedCommits``), as a till serving its counter from one event loop must: an
fsync on a slow SD card takes 10 to 50 ms, and the loop answers the POS, the readers and
the printer meanwhile. The agent's journal writer is that thread; the hop to it and back is
part of every commit the agent makes, and so of this floor.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import httpx

from bench.agent_process import AgentProcess

V3 = {"Authorization": "Bearer sandbox-v3-key", "Accept": "application/json"}


def with_card(
    agent: AgentProcess,
    api_url: str,
    directory: Path,
    cards: tuple[str, ...],
    count: int,
    *,
    commits: int = 1,
    handed: bool = False,
) -> list[float]:
    """``count`` samples of the floor, in seconds, with one commit or the agent's four,
    made on the caller's thread or ``handed`` to a writer thread."""
    path = directory / f"card-floor-{commits}{'-handed' if handed else ''}.sqlite3"
    step, close = committer(path, handed=handed)
    samples = []
    with httpx.Client(base_url=f"{api_url}/api/v3/register", headers=V3) as http:
        for number in range(count):
            card = cards[number % len(cards)]
            started = time.perf_counter()
            found = http.get("/contact-identifiers/find", params={"contact_identifier_value": card})
            step("sale")
            if commits > 1:
                step("in flight")
            pos = http.post(
                "/pos-transactions",
                data={"amount_in_cents": 1250, "transaction_id": f"floor-{number}"},
            )
            http.post(
                "/credit-receptions",
                data={
                    "contact_uuid": found.json()["data"]["contact"]["uuid"],
                    "unit_name": "purchase_amount",
                    "unit_value": "12.50",
                    "pos_transaction_uuid": pos.json()["data"]["uuid"],
                },
            ).raise_for_status()
            if commits > 1:
                step("done")
                step("answer kept")
            agent.get("/v1/customer")
            samples.append(time.perf_counter() - started)
    close()
    return samples


def durable_db(path: Path) -> sqlite3.Connection:
    """A SQLite file synced as the agent's journal is (WAL, FULL): the floors' commits."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
    return db


def commit(db: sqlite3.Connection, what: str) -> None:
    """One durable commit of one row, as the agent makes for each step it must keep."""
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO t VALUES (?)", (what,))
    db.execute("COMMIT")


class HandedCommits:
    """Durable commits made on a thread that owns the SQLite file, each waited for by the
    caller: the floor of a commit an event loop makes without blocking on the fsync. The
    caller waits on a future, not on a loop's self-pipe, so this is the cheaper hop."""

    def __init__(self, path: Path) -> None:
        self._jobs: queue.SimpleQueue[tuple[str, Future[None]] | None] = queue.SimpleQueue()
        opened: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(path, opened), daemon=True)
        self._thread.start()
        opened.result()

    def _run(self, path: Path, opened: Future[None]) -> None:
        db = durable_db(path)
        opened.set_result(None)
        while (job := self._jobs.get()) is not None:
            what, done = job
            commit(db, what)
            done.set_result(None)
        db.close()

    def commit(self, what: str) -> None:
        done: Future[None] = Future()
        self._jobs.put((what, done))
        done.result()

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()


def committer(path: Path, *, handed: bool) -> tuple[Callable[[str], None], Callable[[], None]]:
    """A durable ``commit(what)`` on ``path``, on the caller's thread or ``handed`` to a
    writer thread, and what closes it."""
    if handed:
        writer = HandedCommits(path)
        return writer.commit, writer.close
    db = durable_db(path)
    return lambda what: commit(db, what), db.close
