"""The journal's records of the counter's own online requests, each under the POS's id:
reward claims (``claims.py``), giftcard payments (``giftcards.py``) and refunds
(``refunds.py``). ``Journal`` (``journal/__init__.py``) is built on this class, which
only holds these methods apart so that each file stays readable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Unpack

from register_agent.journal import claims, giftcards, queries, refunds
from register_agent.journal.claims import ClaimFigures, ClaimRecord, ClaimState
from register_agent.journal.giftcards import GiftcardChanges, GiftcardPayment, GiftcardState
from register_agent.journal.records import NewOperation
from register_agent.journal.refunds import RefundRecord
from register_agent.journal.writer import JournalReader, JournalWriter


class CounterRecords:
    """Reward claims, giftcard payments and refunds; one committed transaction a method."""

    _writer: JournalWriter
    _reader: JournalReader

    # --- refunds (journal/refunds.py) -----------------------------------------------------

    async def record_refund(
        self,
        sale_id: str,
        operations: Sequence[NewOperation],
        refund: RefundRecord | None,
        *,
        closes_sale: bool,
        now: float,
    ) -> tuple[RefundRecord | None, bool]:
        """A refund's operations, its refund id's row and (whole) the sale's new state, in one
        transaction; returns the row as stored and whether this call wrote it."""

        def transaction(db: sqlite3.Connection) -> tuple[RefundRecord | None, bool]:
            if refund is not None:
                existing = refunds.refund(db, refund.refund_id)
                if existing is not None:
                    return existing, False
                refunds.insert(db, refund)
            for operation in operations:
                queries.insert_operation(db, sale_id, operation, now)
            if closes_sale:
                queries.set_sale_state(db, sale_id, "refunded")
            return refund, True

        return await self._writer.run_async(transaction)

    async def refund(self, refund_id: str) -> RefundRecord | None:
        return await self._reader.run_async(lambda db: refunds.refund(db, refund_id))

    # --- reward claims (journal/claims.py) -----------------------------------------------

    async def reward_claim(self, claim_id: str) -> ClaimRecord | None:
        return await self._reader.run_async(lambda db: claims.claim(db, claim_id))

    async def start_claim(self, record: ClaimRecord) -> ClaimRecord:
        """Write the claim ``in_flight`` before the request leaves; returns it as stored."""

        def transaction(db: sqlite3.Connection) -> ClaimRecord:
            claims.start(db, record)
            stored = claims.claim(db, record.claim_id)
            assert stored is not None
            return stored

        return await self._writer.run_async(transaction)

    async def finish_claim(
        self,
        claim_id: str,
        state: ClaimState,
        now: float,
        *,
        server_ref: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        await self._writer.run_async(
            lambda db: claims.finish(
                db, claim_id, state=state, now=now, server_ref=server_ref, result=result
            )
        )

    async def claim_lost(self, record: ClaimRecord, now: float, look_at: float) -> None:
        """The claim's answer was lost: ``unknown``, with its ``reward_claim`` operation."""
        await self._writer.run_async(lambda db: claims.lost(db, record, now, look_at))

    async def claims_in_flight_alike(self, claim_id: str) -> int:
        """Other claims of the same reward for the same customer still waiting for answers."""
        return await self._reader.run_async(lambda db: claims.others_in_flight(db, claim_id))

    async def claim_receptions(self, *, except_claim: str) -> set[str]:
        return await self._reader.run_async(lambda db: claims.receptions_known(db, except_claim))

    async def claim_figures(self) -> ClaimFigures:
        return await self._reader.run_async(claims.figures)

    async def claims_of_sale(self, sale_id: str) -> list[ClaimRecord]:
        return await self._reader.run_async(lambda db: claims.of_sale(db, sale_id))

    # --- giftcard payments (journal/giftcards.py) -----------------------------------------

    async def giftcard_payment(self, payment_id: str) -> GiftcardPayment | None:
        return await self._reader.run_async(lambda db: giftcards.payment(db, payment_id))

    async def start_giftcard_payment(self, record: GiftcardPayment) -> tuple[GiftcardPayment, bool]:
        """Write the payment ``in_flight`` before its request leaves; returns it as stored
        and whether this call took it (only then may the request be sent)."""
        return await self._writer.run_async(lambda db: giftcards.start(db, record))

    async def move_giftcard_payment(
        self,
        payment_id: str,
        expected: GiftcardState,
        target: GiftcardState,
        now: float,
        **changes: Unpack[GiftcardChanges],
    ) -> bool:
        """Compare-and-set the payment's state; False when it was no longer ``expected``."""
        return await self._writer.run_async(
            lambda db: giftcards.move(db, payment_id, (expected, target), now, changes)
        )

    async def giftcard_payments_of_sale(self, sale_id: str) -> list[GiftcardPayment]:
        return await self._reader.run_async(lambda db: giftcards.of_sale(db, sale_id))

    async def giftcard_payments_to_check(self) -> int:
        return await self._reader.run_async(giftcards.to_check)
