"""The journal's reward claims: one row per POS claim id, written ``in_flight`` before the
request leaves, so the same claim id is sent at most once (online only, never queued).
The row keeps the answer given to the POS, which a repeat of the claim gets again.

A claim whose answer was lost is an operation like the others: the row goes ``unknown``
together with a ``reward_claim`` operation, which the outbox reconciles (never re-sends)
and a person decides in review; the row follows that operation (``follow``), so the claim
id answers what was found or decided.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from register_agent.journal import queries
from register_agent.journal.kinds import REWARD_CLAIM
from register_agent.journal.payloads import RewardClaimPayload, StoredCustomer
from register_agent.journal.records import NewOperation, Operation, OperationState, dumps
from register_agent.journal.results import RewardClaimResult


class ClaimState(StrEnum):
    """Where a reward claim stands: sent once, online only, never queued."""

    IN_FLIGHT = "in_flight"  # written before its request leaves
    DONE = "done"
    UNKNOWN = "unknown"  # the answer was lost: its reward_claim operation finds out
    REFUSED = "refused"  # nothing happened (or it was found not to): it may be sent again
    REVERSED = "reversed"  # its sale was voided: a reverse_claim operation gives it back


#: states in which nothing more happens to a claim by itself (purged after the retention)
SETTLED = (ClaimState.DONE, ClaimState.REFUSED, ClaimState.REVERSED)


@dataclass(frozen=True)
class ClaimRecord:
    """A reward claim the POS asked for, under its own claim id (the idempotency key)."""

    claim_id: str
    request_digest: str
    sale_id: str | None
    customer_key: str
    reward_key: str
    state: ClaimState
    server_ref: str | None
    result: dict[str, Any] | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ClaimRecord:
        return cls(
            claim_id=row["claim_id"],
            request_digest=row["request_digest"],
            sale_id=row["sale_id"],
            customer_key=row["customer_key"],
            reward_key=row["reward_key"],
            state=ClaimState(row["state"]),
            server_ref=row["server_ref"],
            result=json.loads(row["result"]) if row["result"] else None,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def claim(db: sqlite3.Connection, claim_id: str) -> ClaimRecord | None:
    row = db.execute("SELECT * FROM reward_claims WHERE claim_id = ?", (claim_id,)).fetchone()
    return ClaimRecord.from_row(row) if row else None


def start(db: sqlite3.Connection, record: ClaimRecord) -> None:
    """Insert the claim in flight, or move a refused one (nothing happened) back in flight."""
    db.execute(
        "INSERT INTO reward_claims (claim_id, request_digest, sale_id, customer_key,"
        " reward_key, state, created_at, updated_at)"
        " VALUES (:claim_id, :digest, :sale_id, :customer_key, :reward_key, :in_flight,"
        " :created_at, :updated_at)"
        " ON CONFLICT (claim_id) DO UPDATE"
        " SET state = :in_flight, updated_at = excluded.updated_at"
        " WHERE reward_claims.state = :refused",
        {
            "claim_id": record.claim_id,
            "digest": record.request_digest,
            "sale_id": record.sale_id,
            "customer_key": record.customer_key,
            "reward_key": record.reward_key,
            "in_flight": ClaimState.IN_FLIGHT,
            "refused": ClaimState.REFUSED,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        },
    )


def finish(
    db: sqlite3.Connection,
    claim_id: str,
    *,
    state: ClaimState,
    now: float,
    server_ref: str | None,
    result: dict[str, Any] | None,
) -> None:
    db.execute(
        "UPDATE reward_claims SET state = ?, server_ref = COALESCE(?, server_ref),"
        " result = COALESCE(?, result), updated_at = ? WHERE claim_id = ?",
        (state, server_ref, None if result is None else dumps(result), now, claim_id),
    )


def of_sale(db: sqlite3.Connection, sale_id: str) -> list[ClaimRecord]:
    rows = db.execute(
        "SELECT * FROM reward_claims WHERE sale_id = ? ORDER BY created_at", (sale_id,)
    )
    return [ClaimRecord.from_row(row) for row in rows]


@dataclass(frozen=True)
class ClaimFigures:
    """The claims whose answer was lost, by where their operation stands (status, metrics,
    and a test's tally)."""

    unconfirmed: int  # being found out by the outbox
    review: int  # nothing could tell: a person decides (register-agent review)
    settled: int  # found or decided: the claim id answers the outcome


def reconcile_operation(record: ClaimRecord, started_at: float) -> NewOperation:
    """The ``reward_claim`` operation that finds out what became of ``record``."""
    key = record.customer_key.partition("customer:")[2]
    return NewOperation(
        id=uuid.uuid4().hex,
        kind=REWARD_CLAIM,
        # no customer to queue behind: finding out only reads, and a customer's credits
        # must not wait while a lost claim is looked for (for minutes, when not found yet)
        customer_key=None,
        payload=RewardClaimPayload(
            claim_id=record.claim_id,
            reward_key=record.reward_key,
            customer=StoredCustomer(key=key),
            started_at=started_at,
        ),
    )


def lost(db: sqlite3.Connection, record: ClaimRecord, now: float, look_at: float) -> None:
    """The claim's answer was lost: the row goes ``unknown`` and its operation, in state
    ``unknown`` (it may have applied), is reconciled from ``look_at`` on."""
    cursor = db.execute(
        "UPDATE reward_claims SET state = ?, updated_at = ? WHERE claim_id = ? AND state = ?",
        (ClaimState.UNKNOWN, now, record.claim_id, ClaimState.IN_FLIGHT),
    )
    if cursor.rowcount != 1:
        return  # not in flight any more (cannot be: the desk alone moves it from there)
    operation = reconcile_operation(record, record.updated_at)
    # no sale either: a sale's operations are its credits and refunds (its slip and its
    # refund plan read them); the claim's row keeps the sale it belongs to
    queries.insert_operation(db, None, operation, now)
    db.execute(
        "UPDATE operations SET state = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
        (
            OperationState.UNKNOWN,
            look_at,
            "the reward claim's answer was lost",
            operation.id,
        ),
    )


def recover_in_flight(db: sqlite3.Connection, now: float) -> int:
    """At start: a claim the agent stopped while sending may have applied; found out like a
    lost answer."""
    rows = db.execute("SELECT * FROM reward_claims WHERE state = ?", (ClaimState.IN_FLIGHT,))
    stuck = [ClaimRecord.from_row(row) for row in rows]
    for record in stuck:
        lost(db, record, now, now)
    return len(stuck)


def follow(db: sqlite3.Connection, operation: Operation) -> None:
    """The claim's row follows its ``reward_claim`` operation once that is done: the answer
    found (or a person's "applied"), or ``refused`` when it did not land, so the POS may
    claim it again under the same claim id. Same transaction as the operation's move."""
    if operation.kind != REWARD_CLAIM or operation.state is not OperationState.DONE:
        return
    claim_id = getattr(operation.payload, "claim_id", None)
    found = operation.result
    if isinstance(found, RewardClaimResult) and not found.applied:
        state, answer = ClaimState.REFUSED, None
    else:
        # a person's "applied" (register-agent review) has no result: the claim was made,
        # its details were never seen (the dashboard has them)
        seen = found if isinstance(found, RewardClaimResult) else None
        state = ClaimState.DONE
        answer = {
            "claim_id": claim_id,
            "title": seen.title if seen else "",
            "credits": seen.credits if seen else 0,
            "balance": seen.balance if seen else None,
            "external_property": seen.external_property if seen else None,
            "code": seen.code if seen else None,
        }
    db.execute(
        "UPDATE reward_claims SET state = ?, server_ref = COALESCE(?, server_ref),"
        " result = COALESCE(?, result), updated_at = ? WHERE claim_id = ? AND state = ?",
        (
            state,
            operation.server_ref,
            None if answer is None else dumps(answer),
            operation.updated_at,
            claim_id,
            ClaimState.UNKNOWN,
        ),
    )


def receptions_known(db: sqlite3.Connection, except_claim: str) -> set[str]:
    """The server's ids of the reward receptions other claims of this till answered with."""
    rows = db.execute(
        "SELECT server_ref FROM reward_claims WHERE server_ref IS NOT NULL AND claim_id != ?",
        (except_claim,),
    )
    return {row[0] for row in rows}


def figures(db: sqlite3.Connection) -> ClaimFigures:
    counts = dict(
        db.execute(
            "SELECT state, COUNT(*) FROM operations WHERE kind = ? GROUP BY state",
            (REWARD_CLAIM,),
        ).fetchall()
    )
    return ClaimFigures(
        unconfirmed=sum(counts.get(s, 0) for s in ("pending", "in_flight", "unknown")),
        review=counts.get("review", 0),
        settled=counts.get("done", 0),
    )


def purge(db: sqlite3.Connection, before: float) -> int:
    """Settled claims last changed before ``before`` whose sale is gone (purged before them,
    in the same transaction), and the finished operations that found out about lost ones,
    with their decisions. A repeat of such an old claim id is then a new claim, as an old
    sale id is a new sale."""
    marks = ", ".join("?" for _ in SETTLED)
    old_ops = (
        "SELECT id FROM operations WHERE kind = ? AND sale_id IS NULL AND updated_at < ?"
        " AND state IN ('done', 'dead', 'exported')"
    )
    db.execute(
        f"DELETE FROM operation_decisions WHERE operation_id IN ({old_ops})",  # noqa: S608
        (REWARD_CLAIM, before),
    )
    db.execute(f"DELETE FROM operations WHERE id IN ({old_ops})", (REWARD_CLAIM, before))  # noqa: S608
    return db.execute(
        f"DELETE FROM reward_claims WHERE updated_at < ? AND state IN ({marks})"  # noqa: S608
        " AND (sale_id IS NULL OR sale_id NOT IN (SELECT sale_id FROM sales))",
        (before, *SETTLED),
    ).rowcount
