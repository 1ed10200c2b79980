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

``without_card_beside`` is the floor of a sale while a backlog drains: the bare till
serves the POS's sale over HTTP from its one event loop while bare deliveries run on the
same loop and give way to it, as the agent's backlog does (``_serve_beside``).

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
import json
import queue
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench.agent_process import TOKEN, AgentProcess

T = TypeVar("T")
V3 = {"Authorization": "Bearer sandbox-v3-key", "Accept": "application/json"}
#: a sale's answer times (s) with bare deliveries beside it, and the same sales alone
BesideAndAlone = tuple[list[float], list[float]]


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
    """The floor's steps in a process started where ``agent`` runs; ``sale`` times one.

    ``beside_cards``: the till serves the POS's sales over HTTP on a port of its own
    (``posted``) and delivers a backlog for these customers when told to (``beside``), on
    the same event loop (``_serve_beside``).
    """

    def __init__(
        self,
        agent: AgentProcess,
        api_url: str,
        path: Path,
        *,
        handed: bool,
        beside_cards: Sequence[str] = (),
    ) -> None:
        command = [sys.executable, "-m", "bench.sale_floor", api_url, str(path), str(agent.port)]
        options = ["--handed"] if handed else []
        if beside_cards:
            options += ["--beside-cards", ",".join(beside_cards)]
        self._process = subprocess.Popen(
            [*agent.pin, *command, *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._port = 0
        if beside_cards:
            assert self._process.stdout is not None
            self._port = int(self._process.stdout.readline().removeprefix("port "))
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

    def _serving_over_http(self, wanted: bool) -> None:
        """A till with ``beside_cards`` takes its sales over HTTP, the others over the pipe."""
        if bool(self._port) != wanted:
            raise RuntimeError("this bare till takes its sales the other way")

    def beside(self, lanes: int) -> None:
        """From now on ``lanes`` bare deliveries run beside the sales (0: none)."""
        self._serving_over_http(True)
        assert self._process.stdin is not None
        self._process.stdin.write(f"beside {lanes}\n")
        self._answered("its deliveries")

    def posted(self, sale_id: str) -> float:
        """The seconds one sale without a card took, posted to the till as the POS posts
        one to the agent (a new connection each time, a JSON body, the answer read)."""
        self._serving_over_http(True)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self._port}/v1/sales",
            data=json.dumps({"sale_id": sale_id, "amount": "12.50"}).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
            answer.read()
        return time.perf_counter() - started

    def sale(self, commits: int, card: str | None) -> float:
        """The seconds one sale's floor took, the POS's hop to the bare till included."""
        self._serving_over_http(False)
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
    empty = _empty_request(agent_port)
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
                _pos_round_trip(empty)
                print("ok", flush=True)

    asyncio.run(serve())


def _empty_request(agent_port: int) -> urllib.request.Request:
    """The POS's round trip: an empty request to the agent's local API."""
    return urllib.request.Request(
        f"http://127.0.0.1:{agent_port}/v1/customer",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )


def _pos_round_trip(empty: urllib.request.Request) -> None:
    """A new connection each time, as the benchmark's sales make."""
    with urllib.request.urlopen(empty, timeout=10) as answer:  # noqa: S310 (loopback)
        answer.read()


def without_card_beside(
    agent: AgentProcess,
    api_url: str,
    directory: Path,
    cards: Sequence[str],
    *,
    lanes: int,
    count: int,
    pause_s: float = 0.0,
) -> BesideAndAlone:
    """``count`` samples of the floor of a sale without a card served from one event loop
    (the POS's request accepted and read, one commit handed to a writer thread, the answer
    written), each after ``pause_s``: first with ``lanes`` bare deliveries of a backlog
    (``cards``' customers) on the same loop, then with nothing beside them. The floor of a
    sale while a backlog drains: what a till serving both from one loop pays for the
    deliveries under way as a sale arrives, giving way to it as the agent's backlog does
    (``_serve_beside``)."""
    path = directory / f"floor-beside-{lanes}-{pause_s:g}.sqlite3"
    with BareTill(agent, api_url, path, handed=True, beside_cards=cards) as till:
        for number in range(WARM_UP):
            till.posted(f"warm-{number}")
        till.beside(lanes)
        for number in range(WARM_UP):  # the deliveries' first connections
            till.posted(f"warm-beside-{number}")
        beside = _paced(till, "beside", count, pause_s)
        till.beside(0)
        alone = _paced(till, "alone", count, pause_s)
    return beside, alone


#: sales made and not timed before a bare till's timed ones (its first connections, caches)
WARM_UP = 5


def _paced(till: BareTill, prefix: str, count: int, pause_s: float) -> list[float]:
    samples = []
    for number in range(count):
        time.sleep(pause_s)
        samples.append(till.posted(f"{prefix}-{number}"))
    return samples


def _serve_beside(api_url: str, path: Path, cards: list[str]) -> None:
    """The bare till with a backlog to deliver beside its sales, all on one event loop. The
    POS posts each sale over HTTP on a connection of its own, as it does to the agent; the
    till reads the request whole (head and body, nothing parsed but the length), gives way
    from the moment it accepted the connection, makes the sale durable (one commit handed to
    the writer thread) and writes a minimal answer. While a sale is answered no delivery
    starts its next step, but the work one has under way (a request at the Register API, a
    commit at the writer) goes on: what ``register_agent.outbox.till_first`` lets the
    agent's backlog do. A delivery is the least the backlog's credit costs: the card's
    look-up (a sale made while the Register API was known to be down names the card,
    resolved when it is sent), two commits (in flight, done) and the POS transaction and
    credit reception, on httpx's async client. The benchmark's commands (``beside N``)
    come over the pipe."""

    async def serve() -> None:
        pipe = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(pipe), sys.stdin
        )
        writer = HandedCommits(path)
        try:
            async with httpx.AsyncClient(
                base_url=f"{api_url}/api/v3/register", headers=V3
            ) as client:
                backlog = Backlog(client, writer, cards)

                async def answer_sale(
                    reader: asyncio.StreamReader, answer: asyncio.StreamWriter
                ) -> None:
                    async with backlog.giving_way():
                        head = await reader.readuntil(b"\r\n\r\n")
                        await reader.readexactly(_content_length(head))
                        await writer.awaited("sale")
                        answer.write(SALE_ANSWER)
                        await answer.drain()
                    answer.close()

                server = await asyncio.start_server(answer_sale, "127.0.0.1", 0)
                print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
                print("ok", flush=True)
                while line := (await pipe.readline()).decode():
                    await backlog.run(int(line.split()[1]))  # "beside N"
                    print("ok", flush=True)
                await backlog.run(0)
                server.close()
        finally:
            writer.close()

    asyncio.run(serve())


SALE_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\n{}"
)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


class Backlog:
    """Bare deliveries of credits, ``lanes`` at a time (one customer each), each waiting
    before its next step while a sale is answered (``giving_way``)."""

    def __init__(self, client: httpx.AsyncClient, writer: HandedCommits, cards: list[str]) -> None:
        self._client = client
        self._writer = writer
        self._cards = cards
        self._clear = asyncio.Event()
        self._clear.set()
        self._running = False
        self._lanes: list[asyncio.Task[None]] = []
        self._run_id = uuid.uuid4().hex[:8]  # the POS transactions' ids, unique per run

    async def run(self, lanes: int) -> None:
        """Let the lanes under way end their delivery, then start ``lanes`` new ones."""
        self._running = False
        await asyncio.gather(*self._lanes)
        self._running = lanes > 0
        self._lanes = [asyncio.create_task(self._deliver(lane)) for lane in range(lanes)]

    @contextlib.asynccontextmanager
    async def giving_way(self) -> AsyncIterator[None]:
        self._clear.clear()
        try:
            yield
        finally:
            self._clear.set()

    async def _deliver(self, lane: int) -> None:
        card = self._cards[lane % len(self._cards)]
        number = 0
        while self._running:
            pos_id = f"beside-{self._run_id}-{lane}-{number}"
            await self._clear.wait()
            found = await self._client.get(
                "/contact-identifiers/find", params={"contact_identifier_value": card}
            )
            await self._clear.wait()
            await self._writer.awaited(f"in flight {pos_id}")
            await self._clear.wait()
            pos = await self._client.post(
                "/pos-transactions", data={"amount_in_cents": 1250, "transaction_id": pos_id}
            )
            await self._clear.wait()
            credited = await self._client.post("/credit-receptions", data=credit_form(found, pos))
            credited.raise_for_status()
            await self._clear.wait()
            await self._writer.awaited(f"done {pos_id}")
            number += 1


def credit_form(found: httpx.Response, pos: httpx.Response) -> dict[str, str]:
    """A sale's credit reception: the contact a card's look-up found, linked to the POS
    transaction just opened (the Register API v3's form, as the agent sends it)."""
    return {
        "contact_uuid": found.json()["data"]["contact"]["uuid"],
        "unit_name": "purchase_amount",
        "unit_value": "12.50",
        "pos_transaction_uuid": pos.json()["data"]["uuid"],
    }


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
        credited = await self.post("/credit-receptions", data=credit_form(found, pos), headers=V3)
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
    parser.add_argument("--beside-cards", default="")
    arguments = parser.parse_args()
    if arguments.beside_cards:
        _serve_beside(arguments.api_url, arguments.path, arguments.beside_cards.split(","))
    else:
        _serve(arguments.api_url, arguments.path, arguments.agent_port, handed=arguments.handed)
