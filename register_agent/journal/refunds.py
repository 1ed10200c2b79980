"""The journal's refunds taken under the POS's own refund id: one row per refund id,
written in the same transaction as the refund's operation, keeping the answer the POS got.
A repeat of the refund id gets that answer again and queues nothing (``till/after_sale.py``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from register_agent.journal.records import dumps


@dataclass(frozen=True)
class RefundRecord:
    """A refund as the POS asked for it, under its refund id (the idempotency key)."""

    refund_id: str
    sale_id: str
    amount_cents: int | None  # None: the whole sale
    answer: dict[str, Any]  # the answer given to the POS
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RefundRecord:
        return cls(
            refund_id=row["refund_id"],
            sale_id=row["sale_id"],
            amount_cents=row["amount_cents"],
            answer=json.loads(row["answer"]),
            created_at=row["created_at"],
        )


def refund(db: sqlite3.Connection, refund_id: str) -> RefundRecord | None:
    row = db.execute("SELECT * FROM refunds WHERE refund_id = ?", (refund_id,)).fetchone()
    return RefundRecord.from_row(row) if row else None


def insert(db: sqlite3.Connection, record: RefundRecord) -> None:
    db.execute(
        "INSERT INTO refunds (refund_id, sale_id, amount_cents, answer, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            record.refund_id,
            record.sale_id,
            record.amount_cents,
            dumps(record.answer),
            record.created_at,
        ),
    )
