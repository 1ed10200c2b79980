"""The journal's reward claims: one row per POS claim id, written ``in_flight`` before the
request leaves, so the same claim id is sent at most once (online only, never queued).
The row keeps the answer given to the POS, which a repeat of the claim gets again.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from register_agent.journal.records import dumps


class ClaimState(StrEnum):
    """Where a reward claim stands: sent once, online only, never queued."""

    IN_FLIGHT = "in_flight"  # written before its request leaves
    DONE = "done"
    UNKNOWN = "unknown"  # the answer was lost: a person checks before trying again
    REFUSED = "refused"  # nothing happened: the same claim id may be sent again
    REVERSED = "reversed"  # its sale was voided: a reverse_claim operation gives it back


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
