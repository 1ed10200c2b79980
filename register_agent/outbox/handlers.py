"""The outbox's operation handlers: what each kind of operation sends to the Register API,
and how an unknown outcome is cleared up (docs/architecture.md, "Exactly once").

The kinds (``journal/kinds.py``) and their payloads are the contract with the till, which
writes them (``till/loyalty_block.py``, ``till/after_sale.py``, ``counter/claims.py``). A
handler makes each intermediate result durable with ``progress.save`` before the request
that depends on it, so that reconciliation after a crash at any point knows exactly what
may have been posted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from register_agent.errors import (
    AlreadyApplied,
    NotApplied,
    OutcomeUnknown,
    RequestRejected,
)
from register_agent.journal import Journal, Operation
from register_agent.journal.kinds import (
    CREDIT_RECEPTION,
    REFUND,
    REVERSE_CLAIM,
    STAGED_CREDIT_RECEPTION,
)
from register_agent.loyalty import CreditAward, CustomerRef, LoyaltyService
from register_agent.outbox.refund_plan import money
from register_agent.outbox.reversals import (
    RefundHandler,
    ReverseClaimHandler,
    balance_or_none,
    credits_result,
)
from register_agent.outbox.worker import (
    Delivered,
    OperationHandler,
    Progress,
    Reconciled,
    crash_point,
)

__all__ = [
    "BETWEEN_POS_TRANSACTION_AND_CREDIT",
    "CREDIT_RECEPTION",
    "REFUND",
    "REVERSE_CLAIM",
    "STAGED_CREDIT_RECEPTION",
    "CreditReceptionHandler",
    "RefundHandler",
    "ReverseClaimHandler",
    "StagedCreditHandler",
    "make_handlers",
]

log = logging.getLogger(__name__)

#: the crash point (REGISTER_AGENT_CRASH_AT) between a v3 POS transaction and its credits
BETWEEN_POS_TRANSACTION_AND_CREDIT = "between_pos_transaction_and_credit"
#: payload key: the server answered 6001 for the operation's own POS transaction
_ALREADY_APPLIED = "already_applied"


def make_handlers(loyalty: LoyaltyService, journal: Journal) -> dict[str, OperationHandler]:
    """The outbox's handler table: one handler per operation kind."""
    return {
        CREDIT_RECEPTION: CreditReceptionHandler(loyalty),
        STAGED_CREDIT_RECEPTION: StagedCreditHandler(loyalty),
        REFUND: RefundHandler(loyalty, journal),
        REVERSE_CLAIM: ReverseClaimHandler(loyalty, journal),
    }


class CreditReceptionHandler:
    """A sale's credits: resolve the card if needed, then (v3) POS transaction and award."""

    def __init__(self, loyalty: LoyaltyService) -> None:
        self._loyalty = loyalty

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        payload = operation.payload
        sale_id, amount = sale_of(payload)
        customer = customer_from(payload.get("customer"))
        if customer is None:
            customer = await self._resolve(payload.get("card"))
            # durable before the first POST: reconciliation then knows whom to look at, and
            # an operation whose customer is still unresolved provably posted nothing
            await progress.save({"customer": customer_json(customer)})
        pos_transaction = payload.get("pos_transaction")
        if pos_transaction is None:
            pos_transaction = await self._open_pos_transaction(sale_id, amount, progress)
        try:
            award = await self._loyalty.award_credits(
                customer,
                amount,
                sale_id=sale_id,
                operation_id=operation.id,
                pos_transaction=pos_transaction,
            )
        except AlreadyApplied:
            # 6001: our POS transaction has its reception. Remembered, so that should the
            # look-up by operation id miss it, reconciliation does not send it again (and
            # meet 6001 again, with no delay, forever)
            await progress.save({_ALREADY_APPLIED: True})
            raise
        return Delivered(award.reception_id, award_result(award, customer))

    async def _open_pos_transaction(
        self, sale_id: str, amount: Decimal, progress: Progress
    ) -> str | None:
        """v3 step 1 (v1 has none: None). Its outcome may be unknown too: reconciliation
        then finds no award and the next attempt opens another; an unlinked POS
        transaction awards nothing."""
        pos_transaction = await self._loyalty.open_pos_transaction(sale_id, amount)
        if pos_transaction is not None:
            # saved before step 2, so every later attempt reuses it and 6001 guards it
            await progress.save({"pos_transaction": pos_transaction})
            crash_point(BETWEEN_POS_TRANSACTION_AND_CREDIT)
        return pos_transaction

    async def _resolve(self, card: str | None) -> CustomerRef:
        """The customer behind a card scanned while offline (v3 credits a contact, not a card)."""
        if not card:
            raise RequestRejected(
                "the sale names neither a customer nor a card; there is nobody to credit",
                status=0,
            )
        try:
            found = await self._loyalty.identify(card, with_balance=False)
        except OutcomeUnknown as exc:
            # a look-up changes nothing on the server: whatever went wrong, nothing applied,
            # so the operation stays pending (never unknown, never dead) until the API is back
            raise NotApplied(
                f"card {mask(card)} could not be looked up yet: {exc}", status=exc.status
            ) from exc
        if not found.usable or found.customer is None:
            # an unknown, unregistered or inactive card: final, shown to the operator
            raise RequestRejected(
                f"card {mask(card)} cannot be credited: {found.reason}; the sale's credits "
                "can be given by hand in the Business Dashboard",
                status=0,
            )
        return found.customer.ref

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        customer = customer_from(operation.payload.get("customer"))
        if customer is None:
            # the resolved customer is saved before any POST (see send): nothing was posted
            return Reconciled.NOT_APPLIED
        if not self._loyalty.can_reconcile:
            return Reconciled.UNRESOLVABLE  # v1: nothing can tell; a person reviews it
        found = await self._loyalty.find_award(customer, operation.id)
        if found is None and operation.payload.get(_ALREADY_APPLIED):
            # the server said the sale's POS transaction is credited, yet no reception
            # carries our operation id (the account lacks the agent_operation_id attribute?):
            # done, but its result cannot be fetched; a person confirms it (review)
            log.warning("operation %s: credited (6001) but not found by its id", operation.id)
            return Reconciled.UNRESOLVABLE
        if found is None:
            # safe to send again: the next attempt reuses the saved POS transaction, and
            # should an earlier attempt land after all, the server answers 6001
            return Reconciled.NOT_APPLIED
        balance = await balance_or_none(self._loyalty, customer)
        return Delivered(
            found.reception_id, award_result(replace(found, balance=balance), customer)
        )


class StagedCreditHandler:
    """v1: a staged credit reception whose URL the receipt prints as a QR code."""

    def __init__(self, loyalty: LoyaltyService) -> None:
        self._loyalty = loyalty

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        payload = operation.payload
        # the sale's time, not the attempt's: should a v3 service ever get this kind, the
        # minted token is then the same on every attempt
        issued_at = datetime.fromtimestamp(operation.created_at, UTC)
        sale_id, amount = sale_of(payload)
        staged = await self._loyalty.stage_credits(sale_id, amount, issued_at=issued_at)
        result = {"url": staged.url, "reference": staged.reference, "credits": staged.credits}
        return Delivered(staged.reference, result)

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        # created again: an unclaimed duplicate awards nothing, and only the URL of the
        # attempt that answers is printed (docs/architecture.md, "Exactly once")
        return Reconciled.NOT_APPLIED


# --- shared pieces ---------------------------------------------------------------------


def customer_from(value: object) -> CustomerRef | None:
    """The payload's ``{"key", "card"}`` (or null) as a CustomerRef."""
    if not isinstance(value, Mapping) or not value.get("key"):
        return None
    card = value.get("card")
    return CustomerRef(key=str(value["key"]), card=None if card is None else str(card))


def customer_json(customer: CustomerRef) -> dict[str, str | None]:
    return {"key": customer.key, "card": customer.card}


def sale_of(payload: Mapping[str, Any]) -> tuple[str, Decimal]:
    """The sale id and amount of a payload; a malformed one is refused (dead), never retried
    (an error here would otherwise count as "may have applied" and come back forever)."""
    sale_id = payload.get("sale_id")
    if not sale_id:
        raise RequestRejected("the operation names no sale; nothing can be sent", status=0)
    return str(sale_id), money(payload.get("amount"))


def mask(card: str) -> str:
    """A card value for messages and logs: never in full."""
    return "…" + card[-4:]  # the last 4 at most, like common.masking.mask


def award_result(award: CreditAward, customer: CustomerRef) -> dict[str, Any]:
    return {**credits_result(award), "customer": customer_json(customer)}
