"""The outbox after an outage, measured on the real agent process: its drain rate with a
shop's realistic mix (200 customers, one to five sales each, seeded in the sandbox), and
the cashier's sale answer while a backlog of queued operations drains, against the same
agent idle. Called by ``agent_bench.run``; baselines in the same run (bench/README.md).

The drain's baseline is a bare httpx loop making the very requests the agent made while
it drained (counted in the sandbox's request log, and checked to be the same), one after
another on one connection: the agent may beat it by serving customers side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx

from bench import backlog_sales
from bench.agent_process import AgentProcess
from bench.measure import MEMORY, Figure, Goal
from bench.sale_floor import HandedCommits, committer
from bench.sandbox_process import SandboxProcess
from register_agent.sandbox.seed import default_seed_path

CUSTOMERS = 200
FIND = "GET /api/v3/register/contact-identifiers/find"
FIRST_MEMBER = 20_000
V3 = {"Authorization": "Bearer sandbox-v3-key", "Accept": "application/json"}
#: the outage refuses what would change something; looks-ups still answer, so a sale's
#: card is resolved when it is made and the drain sends what the bare loop sends
OUTAGE = {"mode": "error_503", "rate": 1.0, "paths": ["/api/v3"], "methods": ["POST"]}


def run(
    queued: int = 10_000,
    sales: int = 200,
    customers: int = CUSTOMERS,
    floor_rss: float = 0.0,
    spaced: int = 120,
) -> list[Figure]:
    """``floor_rss``: the resident memory of a process that only imports the libraries;
    ``spaced``: the pairs of sales made one customer at a time (``backlog_sales``)."""
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        cards = seed_customers(directory / "seed.toml", customers)
        # a process of its own, as a Register API is another machine's server: a thread of
        # this process would share the POS's interpreter lock (``sandbox_process``)
        with SandboxProcess(directory / "seed.toml", directory / "sandbox.log") as sandbox:
            figures = _drain_rate(directory / "mix", sandbox, cards)
            backlog = directory / "backlog"
            figures += _sales_during_drain(
                backlog,
                sandbox,
                cards,
                queued=queued,
                sales=sales,
                spaced=spaced,
                floor_rss=floor_rss,
            )
    return figures


def seed_customers(path: Path, count: int) -> list[str]:
    """The packaged seed with ``count`` more customers, each with one active card."""
    cards = [f"{0xBE000000 + number:08X}" for number in range(count)]
    entries = [default_seed_path().read_text(encoding="utf-8")]
    for number, card in enumerate(cards):
        member = FIRST_MEMBER + number
        entries.append(
            f'\n[[members]]\nid = {member}\nuuid = "{uuid.UUID(int=member)}"\n'
            f'email = "bench-{number}@example.org"\ncredits = 0\n'
            f'\n[[cards]]\nid = {member}\nhash = "{card}"\nmember_id = {member}\n'
            'status = "ACTIVE"\n'
        )
    path.write_text("".join(entries), encoding="utf-8")
    return cards


def shop_mix(cards: list[str], rng: random.Random) -> list[str]:
    """One to five sales per customer, in a shuffled order: a day's card per sale."""
    sales = [card for card in cards for _ in range(rng.randint(1, 5))]
    rng.shuffle(sales)
    return sales


def _queue(agent: AgentProcess, control: httpx.Client, prefix: str, mix: list[str]) -> None:
    """Sell ``mix`` during an outage, so every credit waits in the outbox."""
    control.post("/_sandbox/faults", json=OUTAGE).raise_for_status()
    for number, card in enumerate(mix):
        agent.sell(f"{prefix}-{number}", customer_card=card)


def _drain_rate(directory: Path, sandbox: SandboxProcess, cards: list[str]) -> list[Figure]:
    directory.mkdir()
    mix = shop_mix(cards, random.Random(18))  # noqa: S311 (a shop's mix, not a secret)
    agent = AgentProcess(directory, sandbox.url)
    agent.start()
    try:
        with httpx.Client(base_url=sandbox.url) as control:
            _queue(agent, control, "mix", mix)
            # the till quiet for the outbox's quiet second before the API comes back: else
            # the one delivery the last sale earned may go first, then the quiet second,
            # and the drain's clock (from its first request) would count that pause
            time.sleep(backlog_sales.QUIET_PAUSE_S)
            started_at = time.time()
            control.post("/_sandbox/faults", json={"mode": "off"}).raise_for_status()
            while unsettled(directory):
                time.sleep(0.02)
            # from the outbox's first delivery, as the bare loop is timed from its first
            # request: before it, the outbox waits for the till to be quiet for a second
            # (``outbox.till_first.QUIET_S``: the queueing sales were just answered) and
            # for each operation's backoff after the outage to run out
            drained = time.time() - _first_request_at(control, started_at)
            made = _requests_since(control, started_at)
    finally:
        agent.stop()
    bare, bare_made = _bare_loop(sandbox, mix, finds=made.get(FIND, 0))
    durable, durable_made = _bare_loop(
        sandbox, mix, finds=made.get(FIND, 0), journal=directory / "bare.sqlite3"
    )
    handed, handed_made = _bare_loop(
        sandbox, mix, finds=made.get(FIND, 0), journal=directory / "handed.sqlite3", handed=True
    )
    needed, needed_made = _bare_loop(
        sandbox, mix, finds=made.get(FIND, 0), journal=directory / "needed.sqlite3", done=False
    )
    looped, looped_made = _bare_loop(
        sandbox,
        mix,
        finds=made.get(FIND, 0),
        journal=directory / "looped.sqlite3",
        done=False,
        event_loop=True,
    )
    for loop_made in (bare_made, durable_made, handed_made, needed_made, looped_made):
        if made != loop_made:
            raise RuntimeError(f"the drain made {made}, a bare loop {loop_made}: not comparable")
    name = f"outbox drain rate, {len(mix)} sales of {len(cards)} customers (1-5 each)"
    return [
        Figure(
            name,
            len(mix) / drained,
            len(mix) / bare,
            "sales/s",
            "bare httpx loop, the same requests one after another",
            Goal("at least", 0.8),
        ),
        Figure(
            f"{name}, against the loop with the outbox's two commits",
            len(mix) / drained,
            len(mix) / durable,
            "sales/s",
            "the same loop with two FULL-sync SQLite commits per sale (in flight, done)",
        ),
        Figure(
            f"{name}, against the loop with the two commits off the loop",
            len(mix) / drained,
            len(mix) / handed,
            "sales/s",
            "the same, each commit handed to a writer thread and waited for",
        ),
        Figure(
            f"{name}, against the loop with the one commit a request waits for",
            len(mix) / drained,
            len(mix) / needed,
            "sales/s",
            "the same loop with one FULL-sync SQLite commit per sale, in flight (the"
            " outbox's done is written while the lane takes the next sale's first steps)",
        ),
        Figure(
            f"{name}, against the same on an event loop",
            len(mix) / drained,
            len(mix) / looped,
            "sales/s",
            "the loop with the one commit a request waits for, on httpx's client for an"
            " event loop with the commit handed to a writer thread and awaited: what an agent"
            " that keeps answering the till while it drains must spend",
        ),
    ]


def unsettled(directory: Path) -> int:
    """The operations the outbox still works on, read from the agent's journal file on a
    connection of the benchmark's own: polling the agent's status would cost it time."""
    uri = f"{(directory / 'state' / 'journal.sqlite3').as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
        query = "SELECT COUNT(*) FROM operations WHERE state IN ('pending', 'in_flight', 'unknown')"
        return int(db.execute(query).fetchone()[0])


def _first_request_at(control: httpx.Client, since: float) -> float:
    """The wall-clock time of the first Register API request answered without a fault."""
    return min(
        float(entry["at"])
        for entry in control.get("/_sandbox/requests").json()["data"]
        if entry["at"] >= since and entry["fault"] is None and entry["path"].startswith("/api")
    )


def _requests_since(control: httpx.Client, since: float) -> dict[str, int]:
    """The Register API requests the sandbox answered (no fault) since ``since``, by route."""
    made: dict[str, int] = {}
    for entry in control.get("/_sandbox/requests").json()["data"]:
        if entry["at"] >= since and entry["fault"] is None and entry["path"].startswith("/api"):
            route = f"{entry['method']} {entry['path']}"
            made[route] = made.get(route, 0) + 1
    return made


def _bare_loop(
    sandbox: SandboxProcess,
    mix: list[str],
    finds: int,
    journal: Path | None = None,
    *,
    handed: bool = False,
    done: bool = True,
    event_loop: bool = False,
) -> tuple[float, dict[str, int]]:
    """A POS transaction and its credit reception per sale, one after another, on one
    client, and for ``finds`` of them the card's look-up first: the agent's sales made
    while it knew the API was down name a card it resolves when it sends them.

    With ``journal``, each sale also makes the two durable commits the outbox's
    exactly-once path makes per delivered operation (docs/architecture.md): in flight before
    its first request leaves, done after its credit is confirmed; a FULL-sync SQLite
    commit each, one after another, as the outbox would with one customer at a time;
    ``handed``: each made on a writer thread and waited for (``sale_floor.HandedCommits``).
    Without ``done``, only the commit a request must wait for (in flight): a backlog lane
    queues its done and goes on to the next operation's first steps while it is written.
    ``event_loop``: the same requests on httpx's client for an event loop, each commit
    handed to a writer thread and awaited, as an agent that answers the till while it
    drains must make them (a blocking client would keep the cashier waiting)."""
    with httpx.Client(base_url=f"{sandbox.url}/api/v3/register", headers=V3) as http:
        contacts = {card: _contact(http, card) for card in set(mix)}
    started_at = time.time()
    if event_loop:
        elapsed = asyncio.run(_sales_on_a_loop(sandbox, mix, finds, contacts, journal, done=done))
    else:
        elapsed = _sales(sandbox, mix, finds, contacts, journal, handed=handed, done=done)
    with httpx.Client(base_url=sandbox.url) as control:
        made = _requests_since(control, started_at)
    return elapsed, made


def _contact(http: httpx.Client, card: str) -> str:
    found = http.get("/contact-identifiers/find", params={"contact_identifier_value": card})
    return str(found.json()["data"]["contact"]["uuid"])


#: a request of the bare loops: method, path and its query (GET) or form (POST); None
#: where the sale's durable commit goes
Request = tuple[str, str, dict[str, Any]] | None


def _sale_requests(
    number: int, card: str, contact: str, *, look_up: bool
) -> Generator[Request, httpx.Response | None, None]:
    """One sale's requests as the outbox makes them, each sent with its answer back."""
    if look_up:
        yield "GET", "/contact-identifiers/find", {"contact_identifier_value": card}
    yield None  # in flight, durable before the first request that can apply anything
    pos = yield (
        "POST",
        "/pos-transactions",
        {"amount_in_cents": 1250, "transaction_id": f"bare-{number}"},
    )
    assert pos is not None
    credited = yield (
        "POST",
        "/credit-receptions",
        {
            "contact_uuid": contact,
            "unit_name": "purchase_amount",
            "unit_value": "12.50",
            "pos_transaction_uuid": pos.json()["data"]["uuid"],
            "agent_operation_id": f"bare-{number}",
        },
    )
    assert credited is not None
    credited.raise_for_status()


def _lookups_at_the_edge(mix: list[str], finds: int) -> list[Request]:
    """The look-ups the agent made beyond its sales (at the edge of the outage)."""
    return [("GET", "/contact-identifiers/find", {"contact_identifier_value": mix[0]})] * max(
        0, finds - len(mix)
    )


def _sales(
    sandbox: SandboxProcess,
    mix: list[str],
    finds: int,
    contacts: dict[str, str],
    journal: Path | None,
    *,
    handed: bool,
    done: bool,
) -> float:
    commit, close = committer(journal, handed=handed) if journal is not None else (None, None)
    with httpx.Client(base_url=f"{sandbox.url}/api/v3/register", headers=V3) as http:

        def send(request: Request) -> httpx.Response | None:
            if request is None:
                if commit is not None:
                    commit("in flight")
                return None
            method, path, fields = request
            if method == "GET":
                return http.get(path, params=fields)
            return http.post(path, data=fields)

        started = time.perf_counter()
        for number, card in enumerate(mix):
            requests = _sale_requests(number, card, contacts[card], look_up=number < finds)
            with contextlib.suppress(StopIteration):
                answer = send(next(requests))
                while True:
                    answer = send(requests.send(answer))
            if commit is not None and done:
                commit(f"done {number}")
        for request in _lookups_at_the_edge(mix, finds):
            send(request)
        elapsed = time.perf_counter() - started
    if close is not None:
        close()
    return elapsed


async def _sales_on_a_loop(
    sandbox: SandboxProcess,
    mix: list[str],
    finds: int,
    contacts: dict[str, str],
    journal: Path | None,
    *,
    done: bool,
) -> float:
    writer = HandedCommits(journal) if journal is not None else None
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/api/v3/register", headers=V3) as http:

        async def send(request: Request) -> httpx.Response | None:
            if request is None:
                if writer is not None:
                    await writer.awaited("in flight")
                return None
            method, path, fields = request
            if method == "GET":
                return await http.get(path, params=fields)
            return await http.post(path, data=fields)

        started = time.perf_counter()
        for number, card in enumerate(mix):
            requests = _sale_requests(number, card, contacts[card], look_up=number < finds)
            with contextlib.suppress(StopIteration):
                answer = await send(next(requests))
                while True:
                    answer = await send(requests.send(answer))
            if writer is not None and done:
                await writer.awaited(f"done {number}")
        for request in _lookups_at_the_edge(mix, finds):
            await send(request)
        elapsed = time.perf_counter() - started
    if writer is not None:
        writer.close()
    return elapsed


def _sales_during_drain(
    directory: Path,
    sandbox: SandboxProcess,
    cards: list[str],
    *,
    queued: int,
    sales: int,
    spaced: int,
    floor_rss: float,
) -> list[Figure]:
    """A sale's answer (no card, and with a card of a customer not in the backlog) while
    ``queued`` operations drain, each way a till meets it (``backlog_sales``), against the
    same agent once idle."""
    directory.mkdir()
    backlog = cards[: len(cards) // 2]
    fresh = cards[len(cards) // 2 :]
    mix = [backlog[number % len(backlog)] for number in range(queued)]
    agent = AgentProcess(directory, sandbox.url)
    agent.start()
    try:
        with httpx.Client(base_url=sandbox.url) as control:
            _queue(agent, control, "backlog", mix)
            rss = agent.rss_mb()
            # a shop's outage spreads its sales over hours, with quiet seconds between
            # customers; the benchmark's come back to back only to build the backlog fast
            time.sleep(backlog_sales.QUIET_PAUSE_S)
            control.post("/_sandbox/faults", json={"mode": "off"}).raise_for_status()
            busy = backlog_sales.while_draining(
                agent, sales, spaced, fresh, lambda: unsettled(directory)
            )
            while unsettled(directory):
                time.sleep(0.2)
            calm = backlog_sales.idle(agent, sales, spaced, fresh)
            bare = backlog_sales.floor(
                agent, sandbox.url, directory, backlog, sales=sales, spaced=spaced
            )
    finally:
        agent.stop()
    rss_figure = Figure(
        f"resident memory, {queued:,} sales queued", rss, floor_rss, "MB", "imports only", MEMORY
    )
    return [rss_figure, *backlog_sales.figures(busy, calm, queued, bare)]
