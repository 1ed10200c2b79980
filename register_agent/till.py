"""The till: what happens at the counter between a scan, a paid sale and a receipt.

A scan binds a customer to the next sale (``customers.py``). A paid sale is written to the
journal with its outbox operations and print job in one transaction; only then does the POS
get its answer, which waits at most ``[till] receipt_wait_s`` for the credits (design.md
"The flow"). Refunds and voids queue reversals behind the original; reward claims are
online only (``claims.py``). Every refusal is a ``CounterRefusal`` the POS can show.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from register_agent.claims import RewardDesk
from register_agent.config import ReceiptConfig, TillConfig
from register_agent.counter import (
    ActionAnswer,
    ClaimAnswer,
    ClaimRequest,
    CustomerView,
    LoyaltyBlock,
    RefundRequest,
    SaleAnswer,
    SaleRequest,
    TillStatus,
)
from register_agent.customers import CurrentCustomer, sale_customer, with_details
from register_agent.enrolment import EnrolmentDesk, NamedCard
from register_agent.errors import ConfigError, CounterRefusal, LoyaltyApiError
from register_agent.events import EventBus
from register_agent.journal import Journal, NewOperation, Operation, OperationState, SaleRecord
from register_agent.kinds import CREDIT_RECEPTION, REFUND, STAGED_CREDIT_RECEPTION
from register_agent.logs import log_context, remember_card
from register_agent.loyalty.domain import (
    CardState,
    CustomerDetails,
    CustomerRef,
    Identification,
    LoyaltyService,
)
from register_agent.loyalty.profile import ProfileService
from register_agent.loyalty.retries import Deadline
from register_agent.profiles import ProfileDesk
from register_agent.receipts import text
from register_agent.scans import Scan, mask, safe_tail
from register_agent.till_status import TillHealth

log = logging.getLogger(__name__)

_FINAL = (
    OperationState.DONE,
    OperationState.DEAD,
    OperationState.REVIEW,
    OperationState.EXPORTED,  # moved to a replacement till: nothing more happens here
)


def request_digest(request: SaleRequest) -> str:
    """The same sale id with the same body is a repeat; with another body, a conflict."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def customer_key(customer: CustomerRef | None, card: str | None) -> str | None:
    """The journal's ordering key: one customer's operations are delivered in order.

    The card comes first: a card sold offline has no customer yet, and the same card
    identified online later must queue behind it, not overtake it under another key.
    (Two cards of one member are two queues; their order does not change any balance.)
    """
    if card:
        return f"card:{card}"
    return f"customer:{customer.key}" if customer is not None else None


class Till:
    """The ``TillApi`` the local API serves, and the receiver of scans and settled work."""

    def __init__(
        self,
        *,
        journal: Journal,
        loyalty: LoyaltyService,
        events: EventBus,
        till: TillConfig,
        receipt: ReceiptConfig,
        health: TillHealth,
        wake_outbox: Callable[[], None] = lambda: None,
        wake_printer: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        profiles: ProfileService | None = None,
    ) -> None:
        self._journal = journal
        self._loyalty = loyalty
        self._events = events
        self._config = till
        self._language = receipt.language
        self._receipt_attributes = receipt.customer_attributes
        self._health = health
        self._wake_outbox = wake_outbox
        self._wake_printer = wake_printer
        self._clock = clock
        self._customers = CurrentCustomer(till.customer_window_s)
        self._settled: dict[str, asyncio.Event] = {}
        self.rewards = RewardDesk(journal, loyalty, health, clock=clock)
        self.profile = ProfileDesk(
            profiles, self._customers, events, health, loyalty.counter_deadline
        )
        self.enrolment = EnrolmentDesk(
            journal, loyalty, events, health, self._customers, till=till, receipt=receipt,
            wake_printer=wake_printer, clock=clock,
        )  # fmt: skip

    # --- scans --------------------------------------------------------------------------

    async def scanned(self, scan: Scan) -> None:
        """A scan from a reader: identify a loyalty card, pass anything else to the POS."""
        if scan.kind != "loyalty":
            await self._events.publish("plain_scan", {"value": scan.value, "reader": scan.reader})
            return
        await self._events.publish(
            "scan", {"reader": scan.reader, "card_tail": safe_tail(scan.value)}
        )
        deadline = self._loyalty.counter_deadline()
        try:
            # the balance is read below, beside the rewards: one round trip less
            found = await self._loyalty.identify(scan.value, deadline=deadline, with_balance=False)
        except LoyaltyApiError as exc:
            self._health.api_failed(exc)
            bound = self._customers.bind(scan.value, None)
            log.info("card %s scanned offline: resolved with the sale", mask(scan.value))
            await self._events.publish("customer", {**bound.view().model_dump(), "offline": True})
            return
        self._health.api_answered()
        await self._identified(scan, found, deadline)

    async def _identified(self, scan: Scan, found: Identification, deadline: Deadline) -> None:
        if found.state is CardState.UNKNOWN:  # not our card: a product on a shared scanner
            await self._events.publish("plain_scan", {"value": scan.value, "reader": scan.reader})
            return
        customer = found.customer
        if not found.usable or customer is None:
            self._customers.clear()
            refused = {"card_tail": safe_tail(scan.value), "reason": found.reason}
            if found.state is CardState.UNREGISTERED:  # offer the hand-out (enrolment.py)
                refused.update(self.enrolment.unregistered_scanned(scan.value))
            await self._events.publish("customer_refused", refused)
            return
        # the balance comes with the attributes (v1 member / v3 contact): no extra request
        details, rewards = await asyncio.gather(
            self._loyalty.details(customer.ref, deadline=deadline),
            self._loyalty.list_rewards(customer.ref, deadline=deadline),
            return_exceptions=True,
        )
        for failure in (details, rewards):
            if isinstance(failure, BaseException) and not isinstance(failure, LoyaltyApiError):
                raise failure  # a bug, not the API: do not hide it
        # the customer is known: a balance or a reward list that cannot be read can wait
        customer = with_details(customer, details if isinstance(details, CustomerDetails) else None)
        listed = tuple(rewards) if isinstance(rewards, list) else ()
        bound = self._customers.bind(scan.value, customer, listed)
        await self._events.publish("customer", {**bound.view().model_dump(), "offline": False})

    async def current_customer(self) -> CustomerView | None:
        bound = self._customers.peek()
        return bound.view() if bound else None

    async def clear_customer(self) -> None:
        self._customers.clear()
        await self._events.publish("customer_cleared", {})

    # --- sales --------------------------------------------------------------------------

    async def sell(self, request: SaleRequest) -> SaleAnswer:
        """Record a paid sale; the answer comes after the commit, within the receipt wait."""
        if request.customer_card:
            remember_card(request.customer_card)  # logs show its last 4 characters only
        with log_context(sale_id=request.sale_id):
            return await self._sell(request)

    async def _sell(self, request: SaleRequest) -> SaleAnswer:
        digest = request_digest(request)
        existing = await self._journal.sale(request.sale_id)
        if existing is not None:
            return _repeat(existing, digest)
        # The sale consumes the scan even when the POS names the customer itself: a scan
        # left bound would credit the shopper after this one to the scanned card.
        taken = self._customers.take()
        bound = taken if request.customer_card is None else None
        card = request.customer_card or (bound.card if bound else None)
        customer = bound.ref if bound else None
        named = NamedCard()
        if request.customer_card:  # looked up now: an unregistered card gets a QR instead
            named = await self.enrolment.check_named_card(request.customer_card)
            customer, card = named.customer, None if named.notice else card
        operations, block = await self._loyalty_for(request, customer, card)
        if bound is not None and block.customer is None:
            block = block.model_copy(update=sale_customer(bound, self._receipt_attributes))
        prints = request.print_receipt if request.print_receipt is not None else True
        answer = SaleAnswer(
            sale_id=request.sale_id,
            loyalty=block,
            receipt="printing" if prints and self._config.prints != "pos" else "pos",
        )
        answer = named.noted(answer)  # why the named card does not collect, if it does not
        record = SaleRecord(
            sale_id=request.sale_id,
            request_digest=digest,
            amount_cents=int(request.amount * 100),
            currency=request.currency,
            customer_key=customer_key(customer, card),
            answer=answer.model_dump(mode="json"),
            state="paid",
            created_at=self._clock(),
            request=named.stored(request.model_dump(mode="json")),
        )
        stored, created = await self._journal.record_sale(
            record, operations, print_receipt=answer.receipt == "printing"
        )
        if not created:  # the same sale id, posted twice at the same moment
            return _repeat(stored, digest)
        self._wake_outbox()
        self._wake_printer()
        final = named.noted(await self._after_wait(answer, operations))
        if final != answer:
            await self._journal.set_sale_answer(request.sale_id, final.model_dump(mode="json"))
        return final

    async def _loyalty_for(
        self, request: SaleRequest, customer: CustomerRef | None, card: str | None
    ) -> tuple[list[NewOperation], LoyaltyBlock]:
        """The sale's operations and the loyalty block as far as it is known now."""
        if request.amount <= 0:
            return [], LoyaltyBlock(state="none", lines=())
        payload = {"sale_id": request.sale_id, "amount": str(request.amount)}
        if card is not None or customer is not None:
            credit = NewOperation(
                id=uuid.uuid4().hex,
                kind=CREDIT_RECEPTION,
                customer_key=customer_key(customer, card),
                payload={
                    **payload,
                    "customer": {"key": customer.key, "card": customer.card} if customer else None,
                    "card": card,
                    "pos_transaction": None,
                },
            )
            return [credit], self._pending_block()
        if self._loyalty.stages_online:  # v1: a staged credit reception, through the API
            staged = NewOperation(uuid.uuid4().hex, STAGED_CREDIT_RECEPTION, None, payload)
            return [staged], self._pending_block()
        return [], await self._token_block(request)

    async def _token_block(self, request: SaleRequest) -> LoyaltyBlock:
        """v3 without a customer: a loyalty token minted here, no API call (design.md)."""
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

    async def _after_wait(self, answer: SaleAnswer, operations: list[NewOperation]) -> SaleAnswer:
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
        result = operation.result or {}
        if operation.kind == STAGED_CREDIT_RECEPTION:
            block = LoyaltyBlock(
                state="qr",
                lines=(text("scan_to_collect", self._language),),
                qr_url=result.get("url"),
                credits=result.get("credits"),
            )
        else:
            block = self._credited_block(answer.loyalty, result)
        return answer.model_copy(update={"loyalty": block})

    def _credited_block(self, before: LoyaltyBlock, result: dict[str, object]) -> LoyaltyBlock:
        credits = result.get("credits")
        balance = result.get("balance")
        lines = [f"{text('credits_earned', self._language)}: {credits}"]
        if balance is not None:
            lines.append(f"{text('new_balance', self._language)}: {balance}")
        customer = before.customer
        if customer is not None and isinstance(balance, int):
            customer = customer.model_copy(update={"balance": balance})
        return LoyaltyBlock(
            state="credited",
            lines=tuple(lines),
            credits=credits if isinstance(credits, int) else None,
            balance=balance if isinstance(balance, int) else None,
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

    # --- after the sale -----------------------------------------------------------------

    async def refund(self, sale_id: str, request: RefundRequest) -> ActionAnswer:
        """Take the sale's credits back, whole or in part, behind the original credit."""
        sale = await self._sale(sale_id)
        amount = request.amount
        if amount is not None and amount > Decimal(sale.amount_cents) / 100:
            raise CounterRefusal(
                "refund_too_large", "the refund is larger than the sale", status=422
            )
        queued = await self._queue_refund(sale, amount)
        if amount is None:
            await self._journal.set_sale_state(sale_id, "refunded")
        message = "credits will be taken back" if queued else "no loyalty credits to take back"
        return ActionAnswer(sale_id=sale_id, action="refund", message=message)

    async def void(self, sale_id: str) -> ActionAnswer:
        """A voided sale gives back its credits and its reward claims (v3)."""
        sale = await self._sale(sale_id)
        queued = await self._queue_refund(sale, None)
        claims = await self.rewards.reverse_claims_of_sale(sale_id)
        await self._journal.set_sale_state(sale_id, "voided")
        self._wake_outbox()
        parts = (["credits"] if queued else []) + (["reward claims"] if claims else [])
        message = " and ".join(parts) + " will be reversed" if parts else "nothing to reverse"
        return ActionAnswer(sale_id=sale_id, action="void", message=message)

    async def reprint(self, sale_id: str) -> ActionAnswer:
        await self._sale(sale_id)
        if self._config.prints == "pos":
            raise CounterRefusal(
                "printing_off", "this till's receipts are printed by the POS", status=409
            )
        job = await self._journal.add_reprint(sale_id, self._clock())
        self._wake_printer()
        return ActionAnswer(
            sale_id=sale_id, action="reprint", message=f"copy {job.copy} queued for printing"
        )

    async def _sale(self, sale_id: str) -> SaleRecord:
        sale = await self._journal.sale(sale_id)
        if sale is None:
            raise CounterRefusal("unknown_sale", f"no sale {sale_id} on this till", status=404)
        if sale.state != "paid":
            raise CounterRefusal(
                "sale_closed", f"sale {sale_id} was already {sale.state}", status=409
            )
        return sale

    async def _queue_refund(self, sale: SaleRecord, amount: Decimal | None) -> bool:
        credits = [
            op
            for op in await self._journal.operations_of_sale(sale.sale_id)
            if op.kind == CREDIT_RECEPTION
        ]
        if not credits:
            return False  # no customer: a QR receipt cannot be taken back
        if self._loyalty.version == "v1":  # v1 has no reverse call
            raise CounterRefusal(
                "refund_unsupported",
                "Register API v1 cannot take credits back; correct the customer's balance "
                "in the Piggy dashboard",
                status=409,
            )
        original = credits[0]
        refund = NewOperation(
            id=uuid.uuid4().hex,
            kind=REFUND,
            customer_key=original.customer_key,  # after the original, in order
            payload={
                "sale_id": sale.sale_id,
                "original_operation": original.id,
                "amount": None if amount is None else str(amount),
            },
        )
        await self._journal.add_operations(sale.sale_id, [refund], self._clock())
        self._wake_outbox()
        return True

    # --- rewards and status ---------------------------------------------------------------

    async def claim_reward(self, request: ClaimRequest) -> ClaimAnswer:
        bound = self._customers.peek()
        return await self.rewards.claim(request, bound)

    async def status(self) -> TillStatus:
        return await self._health.status()

    async def operation_settled(self, operation: Operation) -> None:
        """The outbox moved an operation on: wake whoever waits, tell the POS screen."""
        # the first attempt's outcome is known: done, refused, or not now (pending/unknown)
        if operation.state is not OperationState.IN_FLIGHT and operation.id in self._settled:
            self._settled[operation.id].set()
        if operation.state is OperationState.DONE:
            self._health.api_answered()
        await self._events.publish(
            "operation",
            {
                "sale_id": operation.sale_id,
                "kind": operation.kind,
                "state": str(operation.state),
                "credits": (operation.result or {}).get("credits"),
            },
        )


def _repeat(existing: SaleRecord, digest: str) -> SaleAnswer:
    if existing.request_digest != digest:
        raise CounterRefusal(
            "sale_conflict",
            f"sale {existing.sale_id} was already recorded with other details; "
            "use a new sale id for a new sale",
            status=409,
        )
    return SaleAnswer.model_validate(existing.answer)
