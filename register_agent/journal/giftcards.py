"""The journal's giftcard payments (migration 2): one row per POS payment or top-up id,
written ``in_flight`` before the request leaves, then moved by compare-and-set.

The row keeps what settling a lost answer needs (the balance read just before sending)
and what the receipt shows; of the card only its last 4 characters and the API's id.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypedDict

from register_agent.journal.records import dumps


class GiftcardState(StrEnum):
    """Where a giftcard payment or top-up (and its correction) stands."""

    IN_FLIGHT = "in_flight"  # written before its request leaves
    DONE = "done"
    UNKNOWN = "unknown"  # the answer was lost: the card's balance settles it
    REFUSED = "refused"  # nothing moved: the same payment id may be sent again
    REVIEW = "review"  # the balance could not tell: a person decides
    CORRECTING = "correcting"  # a done one being undone
    CORRECT_UNKNOWN = "correct_unknown"  # the correction's answer was lost
    CORRECTED = "corrected"


#: states in which nothing more will happen to the row by itself (purged after retention)
SETTLED = (GiftcardState.DONE, GiftcardState.REFUSED, GiftcardState.CORRECTED)
#: states whose outcome nobody knows yet: a person decides (register-agent review), or a
#: repeat of the POS settles an ``unknown`` payment or ``correct_unknown`` correction
WAITING = (GiftcardState.UNKNOWN, GiftcardState.REVIEW, GiftcardState.CORRECT_UNKNOWN)
#: being sent right now (or left so by a stopped agent)
SENDING = (GiftcardState.IN_FLIGHT, GiftcardState.CORRECTING)


class GiftcardChanges(TypedDict, total=False):
    """What a move of a giftcard payment may change besides its state."""

    balance_before: int | None
    balance_after: int | None
    transaction_id: str | None
    correction_id: str | None
    result: dict[str, Any] | None  # the answer given to the POS (the counter's model)


@dataclass(frozen=True)
class GiftcardPayment:
    """A payment (``amount_cents`` < 0) or top-up (> 0) on a giftcard, under the POS's id."""

    payment_id: str
    request_digest: str
    kind: str  # payment | top_up
    sale_id: str | None
    card_tail: str
    card_key: str
    amount_cents: int
    balance_before: int | None
    balance_after: int | None
    state: GiftcardState
    transaction_id: str | None
    correction_id: str | None
    result: dict[str, Any] | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> GiftcardPayment:
        values = dict(row)
        values["result"] = json.loads(row["result"]) if row["result"] else None
        values["state"] = GiftcardState(row["state"])
        return cls(**values)


def payment(db: sqlite3.Connection, payment_id: str) -> GiftcardPayment | None:
    row = db.execute(
        "SELECT * FROM giftcard_payments WHERE payment_id = ?", (payment_id,)
    ).fetchone()
    return GiftcardPayment.from_row(row) if row else None


def start(db: sqlite3.Connection, record: GiftcardPayment) -> tuple[GiftcardPayment, bool]:
    """Insert the row in flight, or take a refused one (nothing moved) back in flight; the
    row as stored, and whether this call took it (False: another request for this id has
    it, even if it is in flight too)."""
    cursor = db.execute(
        "INSERT INTO giftcard_payments (payment_id, request_digest, kind, sale_id, card_tail,"
        " card_key, amount_cents, balance_before, state, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (payment_id) DO UPDATE SET state = excluded.state,"
        " balance_before = excluded.balance_before, card_key = excluded.card_key,"
        " updated_at = excluded.updated_at"
        " WHERE giftcard_payments.state = ?",
        (
            record.payment_id,
            record.request_digest,
            record.kind,
            record.sale_id,
            record.card_tail,
            record.card_key,
            record.amount_cents,
            record.balance_before,
            GiftcardState.IN_FLIGHT,
            record.created_at,
            record.updated_at,
            GiftcardState.REFUSED,
        ),
    )
    stored = payment(db, record.payment_id)
    assert stored is not None
    return stored, cursor.rowcount == 1


def move(
    db: sqlite3.Connection,
    payment_id: str,
    states: tuple[GiftcardState, GiftcardState],
    now: float,
    changes: GiftcardChanges,
) -> bool:
    """Compare-and-set ``states`` = (expected, target) with ``changes``; False if the row was
    no longer in the expected state."""
    expected, target = states
    assert set(changes) <= GiftcardChanges.__annotations__.keys(), set(changes)
    values = {k: dumps(v) if k == "result" and v is not None else v for k, v in changes.items()}
    assignments = "".join(f", {name} = :{name}" for name in values)
    cursor = db.execute(
        f"UPDATE giftcard_payments SET state = :target, updated_at = :now{assignments}"  # noqa: S608
        " WHERE payment_id = :payment_id AND state = :expected",
        {**values, "target": target, "now": now, "payment_id": payment_id, "expected": expected},
    )
    return cursor.rowcount == 1


def of_sale(db: sqlite3.Connection, sale_id: str) -> list[GiftcardPayment]:
    rows = db.execute(
        "SELECT * FROM giftcard_payments WHERE sale_id = ? ORDER BY created_at, payment_id",
        (sale_id,),
    )
    return [GiftcardPayment.from_row(row) for row in rows]


def to_check(db: sqlite3.Connection) -> int:
    """Payments whose outcome a person must check (or a repeat of the POS must settle)."""
    return count_in(db, WAITING)


def count_in(db: sqlite3.Connection, states: tuple[GiftcardState, ...]) -> int:
    marks = ", ".join("?" for _ in states)
    row = db.execute(
        f"SELECT count(*) FROM giftcard_payments WHERE state IN ({marks})",  # noqa: S608
        states,
    ).fetchone()
    return int(row[0])


def recover_sending(db: sqlite3.Connection, now: float) -> int:
    """A stopped agent's rows being sent may have landed: unknown, as the desk takes a
    stale one (at the agent's start, and ``register-agent export --agent-stopped``)."""
    return db.execute(
        "UPDATE giftcard_payments SET updated_at = :now, state = CASE state"
        " WHEN :in_flight THEN :unknown ELSE :correct_unknown END"
        " WHERE state IN (:in_flight, :correcting)",
        {
            "now": now,
            "in_flight": GiftcardState.IN_FLIGHT,
            "unknown": GiftcardState.UNKNOWN,
            "correcting": GiftcardState.CORRECTING,
            "correct_unknown": GiftcardState.CORRECT_UNKNOWN,
        },
    ).rowcount


def waiting(db: sqlite3.Connection) -> list[GiftcardPayment]:
    """The payments ``to_check`` counts, oldest first (register-agent review lists them)."""
    marks = ", ".join("?" for _ in WAITING)
    rows = db.execute(
        f"SELECT * FROM giftcard_payments WHERE state IN ({marks})"  # noqa: S608
        " ORDER BY created_at, payment_id",
        WAITING,
    )
    return [GiftcardPayment.from_row(row) for row in rows]


def in_doubt(row: GiftcardPayment) -> str:
    """What nobody knows about ``row``: whether its correction moved money back
    ("correction"), or whether the payment or top-up itself moved money (its kind)."""
    # a correction starts from a done payment, whose answer to the POS the row keeps; a
    # payment whose own answer was lost never had one
    if row.state is GiftcardState.CORRECT_UNKNOWN or (
        row.state is GiftcardState.REVIEW and row.result is not None
    ):
        return "correction"
    return row.kind


def record_decision(
    db: sqlite3.Connection,
    payment_id: str,
    decision: str,
    *,
    by: str,
    now: float,
    balance_cents: int | None,
    note: str,
) -> None:
    db.execute(
        "INSERT INTO giftcard_decisions (payment_id, decision, balance_cents, decided_by,"
        " decided_at, note) VALUES (?, ?, ?, ?, ?, ?)",
        (payment_id, decision, balance_cents, by, now, note),
    )


def purge(db: sqlite3.Connection, before: float) -> int:
    """Settled rows older than ``before``, with their decisions; the unsettled wait for a
    person."""
    marks = ", ".join("?" for _ in SETTLED)
    old = f"SELECT payment_id FROM giftcard_payments WHERE updated_at < ? AND state IN ({marks})"  # noqa: S608
    db.execute(f"DELETE FROM giftcard_decisions WHERE payment_id IN ({old})", (before, *SETTLED))  # noqa: S608
    return db.execute(
        f"DELETE FROM giftcard_payments WHERE payment_id IN ({old})",  # noqa: S608
        (before, *SETTLED),
    ).rowcount
