"""The outbox's handler for v1's staged credit reception: a sale without a customer,
whose credits a receipt's QR code hands out (one of the handlers ``handlers.make_handlers``
lists; an unclaimed duplicate awards nothing, so it needs no guard)."""

from __future__ import annotations

from datetime import UTC, datetime

from register_agent.journal import Operation
from register_agent.journal.payloads import StagedCreditPayload
from register_agent.journal.results import StagedCreditResult
from register_agent.loyalty import LoyaltyService
from register_agent.outbox.contract import (
    Delivered,
    Progress,
    Reconciled,
    amount_of,
    payload_of,
)


class StagedCreditHandler:
    """v1: a staged credit reception whose URL the receipt prints as a QR code."""

    def __init__(self, loyalty: LoyaltyService) -> None:
        self._loyalty = loyalty

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        payload = payload_of(operation, StagedCreditPayload)
        # the sale's time, not the attempt's: should a v3 service ever get this kind, the
        # minted token is then the same on every attempt
        issued_at = datetime.fromtimestamp(operation.created_at, UTC)
        amount = amount_of(payload.amount)
        staged = await self._loyalty.stage_credits(payload.sale_id, amount, issued_at=issued_at)
        result = StagedCreditResult(
            url=staged.url, reference=staged.reference, credits=staged.credits
        )
        return Delivered(staged.reference, result)

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        # created again: an unclaimed duplicate awards nothing, and only the URL of the
        # attempt that answers is printed (docs/architecture.md, "Exactly once")
        return Reconciled.NOT_APPLIED
