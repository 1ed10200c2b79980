"""The journal's voucher locks: one ``voucher`` operation per voucher locked for a sale
(``payloads.VoucherPayload``), due when its lock is to be released if its sale never comes,
and made due at once when the sale is recorded or voided. ``Journal`` is built on this
class, which only holds these methods apart so that each file stays readable.

The operation names its sale in its payload: the sales row may not exist yet when the
voucher is locked (the POS locks first, then posts the sale), and the ``sale_id`` column
is a foreign key; it is filled in once the sale is recorded, so that the sale's receipt
and ``register-agent journal`` find the voucher under the sale.
"""

from __future__ import annotations

import sqlite3
from typing import Literal

from register_agent.journal import queries
from register_agent.journal.kinds import VOUCHER
from register_agent.journal.records import NewOperation, Operation, dumps
from register_agent.journal.writer import JournalReader, JournalWriter

_OF_SALE = (
    "SELECT * FROM operations WHERE kind = ? AND json_extract(payload, '$.sale_id') = ?"
    " ORDER BY seq"
)


class VoucherLocks:
    """Voucher locks in the operations table; one committed transaction a method."""

    _writer: JournalWriter
    _reader: JournalReader

    async def hold_voucher(self, operation: NewOperation, *, due_at: float, now: float) -> None:
        """Journal a locked voucher, due at ``due_at`` (when it is released unless its sale
        is recorded or voided before)."""

        def transaction(db: sqlite3.Connection) -> None:
            queries.insert_operation(db, None, operation, now)
            db.execute(
                "UPDATE operations SET next_attempt_at = ? WHERE id = ?", (due_at, operation.id)
            )

        await self._writer.run_async(transaction)

    async def sales_with_vouchers(self) -> set[str]:
        """The sales a voucher lock was journaled for, whatever became of the lock."""

        def read(db: sqlite3.Connection) -> set[str]:
            rows = db.execute(
                "SELECT DISTINCT json_extract(payload, '$.sale_id') FROM operations WHERE kind = ?",
                (VOUCHER,),
            )
            return {str(sale_id) for (sale_id,) in rows if sale_id is not None}

        return await self._reader.run_async(read)

    async def vouchers_of_sale(self, sale_id: str) -> list[Operation]:
        def read(db: sqlite3.Connection) -> list[Operation]:
            return [Operation.from_row(row) for row in db.execute(_OF_SALE, (VOUCHER, sale_id))]

        return await self._reader.run_async(read)

    async def decide_vouchers(
        self, sale_id: str, action: Literal["redeem", "release"], now: float
    ) -> list[Operation]:
        """Decide the sale's vouchers not sent yet and make them due now; returns the ones
        decided. A release (a void) also overrides a redeem whose attempt is failing (the
        voucher service away): the attempt under way reads its own payload, and the next
        one reads this; a redeem that lands meanwhile stays the outcome (its result)."""

        def transaction(db: sqlite3.Connection) -> list[Operation]:
            decided = []
            recorded = queries.sale(db, sale_id) is not None
            for row in db.execute(_OF_SALE, (VOUCHER, sale_id)).fetchall():
                operation = Operation.from_row(row)
                payload = operation.payload.to_json()
                waiting = operation.state == "pending" or (
                    action == "release" and operation.state == "in_flight"
                )
                if not waiting or payload.get("action") == "release":
                    continue
                payload["action"] = action
                due = now if operation.state == "pending" else operation.next_attempt_at
                db.execute(
                    "UPDATE operations SET payload = ?, next_attempt_at = ?, updated_at = ?,"
                    " sale_id = COALESCE(sale_id, ?) WHERE id = ?",
                    (dumps(payload), due, now, sale_id if recorded else None, operation.id),
                )
                decided.append(queries.operation(db, operation.id))
            return [operation for operation in decided if operation is not None]

        return await self._writer.run_async(transaction)

    async def release_voucher(self, operation_id: str, now: float) -> Operation | None:
        """Give up a lock whose sale will not come: released now, unless the operation has
        left ``pending`` (its redeem or release is under way or done); None then."""

        def transaction(db: sqlite3.Connection) -> Operation | None:
            operation = queries.operation(db, operation_id)
            if operation is None or operation.kind != VOUCHER or operation.state != "pending":
                return None
            payload = {**operation.payload.to_json(), "action": "release"}
            db.execute(
                "UPDATE operations SET payload = ?, next_attempt_at = ?, updated_at = ?"
                " WHERE id = ?",
                (dumps(payload), now, now, operation_id),
            )
            return queries.operation(db, operation_id)

        return await self._writer.run_async(transaction)
