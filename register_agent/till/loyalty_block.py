"""The loyalty block of a sale: the operations a paid sale queues for its credits, what its
receipt says at once, and what it says after the till's bounded wait for those credits
(the ``Till`` in ``till/sale.py`` records the sale, this decides its loyalty part).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from register_agent.config import TillConfig
from register_agent.counter.health import TillHealth
from register_agent.counter.messages import LoyaltyBlock, SaleAnswer, SaleRequest
from register_agent.errors import ConfigError, LoyaltyApiError
from register_agent.journal import Journal, NewOperation, Operation, OperationState
from register_agent.journal.kinds import CREDIT_RECEPTION, STAGED_CREDIT_RECEPTION
from register_agent.journal.payloads import (
    CreditReceptionPayload,
    StagedCreditPayload,
    StoredCustomer,
)
from register_agent.journal.results import CreditsResult, StagedCreditResult
from register_agent.loyalty.domain import CustomerRef, LoyaltyService
from register_agent.receipts.layout import Language, text

log = logging.getLogger(__name__)

_FINAL = (
    OperationState.DONE,
    OperationState.DEAD,
    OperationState.REVIEW,
    OperationState.EXPORTED,  # moved to a replacement till: nothing more happens here
)


def customer_key(customer: CustomerRef | None, card: str | None) -> str | None:
    """The journal's ordering key: one customer's operations are delivered in order.

    The card comes first: a card sold offline has no customer yet, and the same card
    identified online later must queue behind it, not overtake it under another key.
    (Two cards of one member are two queues; their order does not change any balance.)
    """
    if card:
        return f"card:{card}"
    return f"customer:{customer.key}" if customer is not None else None


class SaleLoyalty:
    """Decides a sale's credit operations and its loyalty block, before and after the wait."""

    def __init__(
        self,
        journal: Journal,
        loyalty: LoyaltyService,
        health: TillHealth,
        *,
        till: TillConfig,
        language: Language,
    ) -> None:
        self._journal = journal
        self._loyalty = loyalty
        self._health = health
        self._config = till
        self._language = language
        self._settled: dict[str, asyncio.Event] = {}

    async def for_sale(
        self, request: SaleRequest, customer: CustomerRef | None, card: str | None
    ) -> tuple[list[NewOperation], LoyaltyBlock]:
        """The sale's operations and the loyalty block as far as it is known now."""
        if request.amount <= 0:
            return [], LoyaltyBlock(state="none", lines=())
        sale_id, amount = request.sale_id, str(request.amount)
        if card is not None or customer is not None:
            named = StoredCustomer(key=customer.key, card=customer.card) if customer else None
            credit = NewOperation(
                id=uuid.uuid4().hex,
                kind=CREDIT_RECEPTION,
                customer_key=customer_key(customer, card),
                payload=CreditReceptionPayload(
                    sale_id=sale_id, amount=amount, customer=named, card=card, pos_transaction=None
                ),
            )
            return [credit], self._pending_block()
        payload = StagedCreditPayload(sale_id=sale_id, amount=amount)
        if self._loyalty.stages_online:  # v1: a staged credit reception, through the API
            staged = NewOperation(uuid.uuid4().hex, STAGED_CREDIT_RECEPTION, None, payload)
            return [staged], self._pending_block()
        return [], await self._token_block(request)

    async def _token_block(self, request: SaleRequest) -> LoyaltyBlock:
        """v3 without a customer: a loyalty token minted here, no API call (so it works
        offline, and nothing is sent that could be lost or doubled)."""
        try:
            staged = await self._loyalty.stage_credits(
                request.sale_id, request.amount, deadline=self._loyalty.counter_deadline()
            )
        except (LoyaltyApiError, ConfigError) as exc:
            log.warning("no loyalty QR for sale %s: %s", request.sale_id, exc)
            return LoyaltyBlock(state="none", lines=(text("no_qr", self._language),))
        return LoyaltyBlock(
            state="qr", lines=(text("scan_to_collect", self._language),), qr_url=staged.url
        )

    def _pending_block(self) -> LoyaltyBlock:
        return LoyaltyBlock(state="pending", lines=(text("points_later", self._language),))

    async def after_wait(self, answer: SaleAnswer, operations: list[NewOperation]) -> SaleAnswer:
        """Wait (bounded) for the sale's operation, then say what is known."""
        if not operations:
            return answer
        # known to be offline: the credits cannot come in time, so do not keep the cashier
        offline = self._health.api_state in ("unreachable", "key_refused")
        wait_s = 0.0 if offline else self._config.receipt_wait_s
        operation = await self._wait_for(operations[0].id, wait_s)
        if operation is None or operation.state is not OperationState.DONE:
            if operation is not None and operation.kind == STAGED_CREDIT_RECEPTION:
                no_qr = LoyaltyBlock(state="none", lines=(text("no_qr", self._language),))
                return answer.model_copy(update={"loyalty": no_qr})
            return answer
        if operation.kind == STAGED_CREDIT_RECEPTION:
            staged = operation.result_as(StagedCreditResult)
            block = LoyaltyBlock(
                state="qr",
                lines=(text("scan_to_collect", self._language),),
                qr_url=staged.url if staged else None,
                credits=staged.credits if staged else None,
            )
        else:
            block = self._credited_block(answer.loyalty, operation.result_as(CreditsResult))
        return answer.model_copy(update={"loyalty": block})

    def _credited_block(self, before: LoyaltyBlock, result: CreditsResult | None) -> LoyaltyBlock:
        # no result: a person marked the credits applied (review); they are not known here
        credits = result.credits if result else None
        balance = result.balance if result else None
        lines = [f"{text('credits_earned', self._language)}: {credits}"]
        if balance is not None:
            lines.append(f"{text('new_balance', self._language)}: {balance}")
        customer = before.customer
        if customer is not None and balance is not None:
            customer = customer.model_copy(update={"balance": balance})
        return LoyaltyBlock(
            state="credited",
            lines=tuple(lines),
            credits=credits,
            balance=balance,
            customer=customer,
            customer_lines=before.customer_lines,
        )

    async def _wait_for(self, operation_id: str, timeout_s: float) -> Operation | None:
        event = self._settled.setdefault(operation_id, asyncio.Event())
        try:
            # the outbox may have finished before we started listening: look first
            operation = await self._journal.operation(operation_id)
            if operation is not None and (operation.state in _FINAL or operation.attempts > 0):
                return operation  # settled, or its first attempt already failed
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass
        finally:
            self._settled.pop(operation_id, None)
        return await self._journal.operation(operation_id)

    def settled(self, operation: Operation) -> None:
        """The outbox moved an operation on: wake the sale that waits for it, if any."""
        # the first attempt's outcome is known: done, refused, or not now (pending/unknown)
        if operation.state is not OperationState.IN_FLIGHT and operation.id in self._settled:
            self._settled[operation.id].set()
