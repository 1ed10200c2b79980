"""The sandbox's ledger: one JSON-ready row per change, in order (``GET /_sandbox/ledger``).

Tests assert on it: it is the ground truth of what the API applied, including changes
whose response the client never saw (``drop_after_commit``). It never holds an API key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from register_agent.sandbox.records import Transaction
    from register_agent.sandbox.seed import Register


class Ledger:
    """Rows of ``{seq, at, api, kind, register, shop_id, ...}``; amounts as decimal strings."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record(self, kind: str, register: Register | None, api: str, **fields: Any) -> None:
        at = datetime.now(UTC).replace(microsecond=0).isoformat()
        row: dict[str, Any] = {"seq": len(self.rows) + 1, "at": at, "api": api, "kind": kind}
        if register is not None:
            row["register"] = {"id": register.id, "identifier": register.identifier}
            row["shop_id"] = register.shop_id
        row.update({k: str(v) if isinstance(v, Decimal) else v for k, v in fields.items()})
        self.rows.append(row)

    def transaction(self, kind: str, txn: Transaction, **extra: Any) -> None:
        """A row for a credit or reward reception: who, which card, credits, POS link."""
        member = txn.account.member if txn.account else None
        self.record(
            kind,
            txn.register,
            txn.api,
            id=txn.id,
            uuid=txn.uuid,
            member=(
                None
                if member is None
                else {"id": member.id, "uuid": member.uuid, "email": member.email}
            ),
            card=txn.card.hash if txn.card else None,
            credits=txn.credits,
            balance_after=txn.balance_after if member else None,
            amount=txn.amount,
            pos_transaction=txn.pos_transaction,
            attributes=dict(txn.attributes),
            reward={"id": txn.reward.id, "uuid": txn.reward.uuid} if txn.reward else None,
            reverses=txn.reverses.uuid if txn.reverses else None,
            **extra,
        )
