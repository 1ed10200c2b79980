"""The floor of a sale, measured in the same run as the agent's answer: what any till must
do for it, made bare, one step after the other. One FULL-sync SQLite commit (the sale made
durable before anything is sent), one empty request to the agent's local API (the POS's
round trip) and, for a sale with a card, the Register API requests the agent made for it
(the card's look-up, the POS transaction, the credit reception), on one httpx client.

``commits=4`` is the floor with the durable commits the agent's exactly-once path makes for
a credited sale (docs/architecture.md): the sale before anything is sent, the delivery in
flight with its POS transaction before the credit is asked, the delivery done, the answer
kept for a repeat. The till cannot answer with less and keep its promise, so the agent is
also measured against that.

``handed=True`` is the floor of a till that serves its counter from one event loop, as the
agent does: an fsync on a slow SD card takes 10 to 50 ms, and the loop answers the POS, the
readers and the printer meanwhile. So each commit is made on a writer thread of its own
and awaited on the loop (``HandedCommits``: the agent's journal writer is that thread, and
the hop to it and back is part of every commit the agent makes), and the requests go out
on httpx's async client, the one the agent's loop uses.

The steps run in a bare process of their own started where the agent runs (``BareTill``,
``python -m bench.sale_floor``), asked for each sample over a pipe: on two cores the agent
keeps to its own, and its requests to the sandbox cross to the other core and back; the
floor's must cross the same way, or the floor would leave out what the machine charges for
the crossing, not what the agent adds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import queue
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench.agent_process import TOKEN, AgentProcess

T = TypeVar("T")
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
    """``count`` samples of the floor of a card sale, in seconds, with one commit or the
    agent's four, made on the bare till's thread or ``handed`` to a writer thread."""
    name = f"card-floor-{commits}{'-handed' if handed else ''}"
    with BareTill(agent, api_url, directory / f"{name}.sqlite3", handed=handed) as till:
        return [till.sale(commits, cards[number % len(cards)]) for number in range(count)]


def without_card(
    agent: AgentProcess, api_url: str, directory: Path, count: int, *, handed: bool = False
) -> list[float]:
    """``count`` samples of one durable commit and one empty request to the agent."""
    name = f"floor{'-handed' if handed else ''}"
    with BareTill(agent, api_url, directory / f"{name}.sqlite3", handed=handed) as till:
        return [till.sale(1, None) for _ in range(count)]


class BareTill:
    """The floor's steps in a process started where ``agent`` runs; ``sale`` times one."""

    def __init__(self, agent: AgentProcess, api_url: str, path: Path, *, handed: bool) -> None:
        command = [sys.executable, "-m", "bench.sale_floor", api_url, str(path), str(agent.port)]
        self._process = subprocess.Popen(
            [*agent.pin, *command, *(["--handed"] if handed else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._answered("its start")

    def __enter__(self) -> BareTill:
        return self

    def __exit__(self, *_: object) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(10)

    def _answered(self, what: str) -> None:
        assert self._process.stdout is not None
        if self._process.stdout.readline() != "ok\n":
            raise RuntimeError(f"the bare till did not answer {what}")

    def sale(self, commits: int, card: str | None) -> float:
        """The seconds one sale's floor took, the POS's hop to the bare till included."""
        assert self._process.stdin is not None
        started = time.perf_counter()
        self._process.stdin.write(f"{commits} {card or '-'}\n")
        self._answered("a sale")
        return time.perf_counter() - started


def _serve(api_url: str, path: Path, agent_port: int, *, handed: bool) -> None:
    """The bare till: each line from the POS is a sale's floor, answered "ok" when done.

    ``handed``: the till an event loop is. Each commit is handed to a writer thread and
    awaited on the loop (the hop back through the loop's self-pipe, as the agent's journal
    writer makes it), and the requests go out on httpx's async client, which the agent uses
    too (about 0.35 ms more per request than the blocking client on this machine); without
    it, blocking commits and the blocking client, called from a coroutine that never waits.
    """
    empty = urllib.request.Request(
        f"http://127.0.0.1:{agent_port}/v1/customer",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    base = f"{api_url}/api/v3/register"

    async def serve() -> None:
        async with contextlib.AsyncExitStack() as stack:
            if handed:
                writer = HandedCommits(path)
                stack.callback(writer.close)
                client = await stack.enter_async_context(httpx.AsyncClient(base_url=base))
                bare = Bare(client.get, client.post, writer.awaited)
            else:
                db = durable_db(path)
                stack.callback(db.close)
                blocking = stack.enter_context(httpx.Client(base_url=base))
                bare = Bare(_at_once(blocking.get), _at_once(blocking.post), _at_once(db_step(db)))
            print("ok", flush=True)
            for number, line in enumerate(sys.stdin):  # the loop has nothing else to do
                commits, card = line.split()
                await bare.sale(int(commits), None if card == "-" else card, f"floor-{number}")
                # the POS's round trip: a new connection each time, as the benchmark's sales
                with urllib.request.urlopen(empty, timeout=10) as answer:  # noqa: S310
                    answer.read()
                print("ok", flush=True)

    asyncio.run(serve())


def db_step(db: sqlite3.Connection) -> Callable[[str], None]:
    return lambda what: commit(db, what)


def _at_once(call: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """A blocking call as a coroutine that never waits (a microsecond's wrapping)."""

    async def called(*args: Any, **kwargs: Any) -> T:
        return call(*args, **kwargs)

    return called


@dataclass(frozen=True)
class Bare:
    """One sale's steps, bare: its durable commits and, with a card, its three requests."""

    get: Callable[..., Awaitable[httpx.Response]]
    post: Callable[..., Awaitable[httpx.Response]]
    step: Callable[[str], Awaitable[None]]

    async def sale(self, commits: int, card: str | None, pos_id: str) -> None:
        if card is None:
            await self.step("sale")
            return
        found = await self.get(
            "/contact-identifiers/find", params={"contact_identifier_value": card}, headers=V3
        )
        await self.step("sale")
        if commits > 1:
            await self.step("in flight")
        pos = await self.post(
            "/pos-transactions",
            data={"amount_in_cents": 1250, "transaction_id": pos_id},
            headers=V3,
        )
        credited = await self.post(
            "/credit-receptions",
            data={
                "contact_uuid": found.json()["data"]["contact"]["uuid"],
                "unit_name": "purchase_amount",
                "unit_value": "12.50",
                "pos_transaction_uuid": pos.json()["data"]["uuid"],
            },
            headers=V3,
        )
        credited.raise_for_status()
        if commits > 1:
            await self.step("done")
            await self.step("answer kept")


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
    caller (``commit``: on a future) or by an event loop (``awaited``): the floor of a commit
    an event loop makes without blocking on the fsync."""

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

    def _submit(self, what: str) -> Future[None]:
        done: Future[None] = Future()
        self._jobs.put((what, done))
        return done

    def commit(self, what: str) -> None:
        self._submit(what).result()

    async def awaited(self, what: str) -> None:
        await asyncio.wrap_future(self._submit(what))

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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the floor's bare till (BareTill's child)")
    parser.add_argument("api_url")
    parser.add_argument("path", type=Path)
    parser.add_argument("agent_port", type=int)
    parser.add_argument("--handed", action="store_true")
    arguments = parser.parse_args()
    _serve(arguments.api_url, arguments.path, arguments.agent_port, handed=arguments.handed)
