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
"""

from __future__ import annotations

import sqlite3
import time
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
) -> list[float]:
    """``count`` samples of the floor, in seconds, with one commit or the agent's four."""
    db = durable_db(directory / f"card-floor-{commits}.sqlite3")
    samples = []
    with httpx.Client(base_url=f"{api_url}/api/v3/register", headers=V3) as http:
        for number in range(count):
            card = cards[number % len(cards)]
            started = time.perf_counter()
            found = http.get("/contact-identifiers/find", params={"contact_identifier_value": card})
            commit(db, "sale")
            if commits > 1:
                commit(db, "in flight")
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
                commit(db, "done")
                commit(db, "answer kept")
            agent.get("/v1/customer")
            samples.append(time.perf_counter() - started)
    db.close()
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
