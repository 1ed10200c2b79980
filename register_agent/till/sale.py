"""The till: what happens at the counter between a scan, a paid sale and a receipt.

A scan binds a customer to the next sale (``counter/customers.py``). A paid sale, within
the counter's rules (``till/counter_rules.py``), is written to the journal with its outbox
operations and print job in one transaction; only then does the POS get its answer, which
waits at most ``[till] receipt_wait_s`` for the credits (docs/architecture.md, "A sale,
from scan to receipt"; the loyalty block and that wait are ``till/loyalty_block.py``'s).
Refunds and voids queue reversals behind the original (``till/after_sale.py``); reward
claims are online only (``counter/claims.py``). Every refusal is a ``CounterRefusal``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from register_agent.common.events import EventBus
from register_agent.common.logs import log_context, remember_card
from register_agent.common.money import to_cents
from register_agent.config import ReceiptConfig, TillConfig
from register_agent.counter.claims import RewardDesk
from register_agent.counter.customers import CurrentCustomer
from register_agent.counter.enrolment.desk import EnrolmentDesk
from register_agent.counter.health import TillHealth
from register_agent.counter.messages import (
    ActionAnswer,
    ClaimAnswer,
    ClaimRequest,
    Collectables,
    CustomerView,
    LoyaltyBlock,
    RefundRequest,
    SaleAnswer,
    SaleRequest,
    TillStatus,
)
from register_agent.counter.profiles import ProfileDesk
from register_agent.errors import CounterRefusal, JournalUnavailable
from register_agent.journal import Journal, Operation, OperationState, SaleRecord
from register_agent.journal.results import credits_moved
from register_agent.loyalty.bundle import Loyalty
from register_agent.outbox.settled import Settled
from register_agent.outbox.till_first import TillFirst, Turn
from register_agent.readers.scans import Scan
from register_agent.receipts.drawer import Drawer, DrawerAnswer
from register_agent.till.after_sale import AfterSaleDesk
from register_agent.till.counter_rules import CounterRules
from register_agent.till.loyalty_block import Early, SaleLoyalty, customer_key, with_customer
from register_agent.till.named_card import NamedCard, NamedCards
from register_agent.till.sale_answers import SaleAnswers, first_answer, repeat, request_digest
from register_agent.till.scan_desk import ScanDesk

log = logging.getLogger(__name__)


class Till:
    """The ``TillApi`` the local API serves, and the receiver of scans and settled work."""

    def __init__(
        self,
        *,
        journal: Journal,
        loyalty: Loyalty,
        events: EventBus,
        till: TillConfig,
        receipt: ReceiptConfig,
        health: TillHealth,
        wake_outbox: Callable[[], None] = lambda: None,
        wake_printer: Callable[[], None] = lambda: None,
        settled: Settled | None = None,
        clock: Callable[[], float] = time.time,
        drawer: Drawer | None = None,
    ) -> None:
        self._journal = journal
        # what the till answers now: the runtime hands it to the outbox, which starts no
        # backlog delivery while a sale or a scan is being answered (``outbox/till_first.py``)
        self.till_first = TillFirst()
        self._drawer = drawer or Drawer(None, None)
        self._loyalty = service = loyalty.service
        self._events = events
        self._config = till
        self._receipt_attributes = receipt.customer_attributes
        self._health = health
        self._wake_outbox = wake_outbox
        self._wake_printer = wake_printer
        self._clock = clock
        self._customers = CurrentCustomer(till.customer_window_s)
        self._rules = CounterRules(till)
        self._answers = SaleAnswers(journal)
        self.rewards = RewardDesk(
            journal,
            service,
            health,
            clock=clock,
            wake_outbox=wake_outbox,
            receipt=receipt,
            wake_printer=wake_printer,
            collectables=loyalty.collectables,
        )
        self._sale_loyalty = SaleLoyalty(
            journal,
            service,
            health,
            till=till,
            language=receipt.language,
            settled=settled or Settled(),  # the outbox's signal (the runtime's)
            collecting=loyalty.collectables is not None,
        )
        self._after_sale = AfterSaleDesk(
            journal,
            service,
            self.rewards,
            till=till,
            wake_outbox=wake_outbox,
            wake_printer=wake_printer,
            clock=clock,
        )
        self.profile = ProfileDesk(
            loyalty.profile, self._customers, events, health, service.counter_deadline
        )
        self.enrolment = EnrolmentDesk(
            journal,
            loyalty,
            events,
            health,
            self._customers,
            till=till,
            receipt=receipt,
            wake_printer=wake_printer,
            clock=clock,
        )
        self._scans = ScanDesk(service, events, health, self._customers, self.enrolment)
        self._named_cards = NamedCards(
            service, health, till=till, remember_blank=self.enrolment.remember_blank
        )

    # --- scans --------------------------------------------------------------------------

    async def scanned(self, scan: Scan) -> None:
        """A scan from a reader: identify a loyalty card, pass anything else to the POS."""
        with self.till_first.serving():
            await self._scans.scanned(scan)

    async def current_customer(self) -> CustomerView | None:
        return bound.view() if (bound := self._customers.peek()) else None

    async def clear_customer(self) -> None:
        self._customers.clear()
        await self._events.publish("customer_cleared", {})

    # --- sales --------------------------------------------------------------------------

    async def sell(
        self,
        request: SaleRequest,
        *,
        early: Early | None = None,
        decided: LoyaltyBlock | None = None,
    ) -> SaleAnswer:
        """Record a paid sale; the answer comes after the commit, within the receipt wait.
        ``early`` is told a new sale's answer before its commit when that answer promises
        nothing the journal must keep (``SaleLoyalty.makes_no_promise``). ``decided``: the
        block ``sale_at_once`` gave and the receipt printed; the sale is recorded with it."""
        if request.customer_card:
            remember_card(request.customer_card)  # logs show its last 4 characters only
        serving = self.till_first.serving(request.sale_id)
        with log_context(sale_id=request.sale_id), serving as turn:
            digest = request_digest(request)
            record = lambda: self._record(request, digest, early, decided, turn)  # noqa: E731
            return await self._answers.answer(request, digest, record)

    def sale_at_once(self, request: SaleRequest) -> LoyaltyBlock | None:
        """For the pass-through relay's thread: the block of a sale with no customer,
        decided without the event loop (``SaleLoyalty.makes_no_promise`` says why that is
        safe), then recorded by ``sell(request, decided=...)``. None, for the loop's path,
        when a customer waits, the journal holds the sale id already (a receipt sent again
        gets its first answer), or the block needs more than a token minted here."""
        plain = not (request.customer_card or request.collect or request.open_drawer)
        if not plain or self._customers.waiting():
            return None
        try:
            self._rules.check_amount(request)
        except CounterRefusal:
            return None  # refused on the loop's path, and the receipt prints untouched
        if self._journal.sale_now(request.sale_id) is not None:
            return None
        return self._sale_loyalty.token_block_now(request)

    async def prepare_at_once(self) -> None:
        """Before the pass-through's first receipt: what ``sale_at_once`` needs known."""
        await self._sale_loyalty.learn_register()

    async def _record(
        self,
        request: SaleRequest,
        digest: str,
        early: Early | None,
        decided: LoyaltyBlock | None,
        turn: Turn,
    ) -> SaleAnswer:
        """A sale the journal does not hold yet: recorded, then answered after the wait."""
        self._rules.check_amount(request)  # too large, or large and not confirmed
        # The sale consumes the scan even when the POS names the customer itself: a scan
        # left bound would credit the shopper after this one to the scanned card. A sale
        # ``decided`` without a customer leaves a card scanned meanwhile to the next sale.
        taken = self._customers.take() if decided is None else None
        bound = taken if request.customer_card is None else None
        named = NamedCard()
        if request.customer_card:  # looked up once: an unregistered card gets a QR instead
            named = await self._named_cards.look_up(request.customer_card)
            customer, card = named.customer, None if named.notice else request.customer_card
        else:
            customer, card = (bound.ref, bound.card) if bound else (None, None)
        earning = customer_key(customer, card) if request.amount > 0 else None
        if (locked := self._rules.earn(earning)) is not None:  # recorded, without credits
            operations = self._sale_loyalty.collections(request, customer, card)
            customer = card = None
            block = LoyaltyBlock(state="none", lines=())
        elif decided is not None:  # a QR printed already, which carries its credits
            operations, block = [], decided
        else:
            operations, block = await self._sale_loyalty.for_sale(request, customer, card)
        block = with_customer(block, bound, locked or named.notice, self._receipt_attributes)
        answer = first_answer(request, block, self._config)
        if early is not None and SaleLoyalty.makes_no_promise(request, operations):
            early(answer)
        record = SaleRecord(
            sale_id=request.sale_id,
            request_digest=digest,
            amount_cents=to_cents(request.amount),
            currency=request.currency,
            customer_key=customer_key(customer, card),
            answer=answer.model_dump(mode="json"),
            state="paid",
            created_at=self._clock(),
            request=named.stored(request.model_dump(mode="json")),
        )
        try:
            stored, created, first = await self._journal.record_sale_first_in_line(
                record, operations, print_receipt=answer.receipt == "printing"
            )
        except JournalUnavailable:  # not recorded (503): the resent sale finds its customer
            self._customers.give_back(taken)
            self._rules.forget(earning)
            raise
        if not created:  # recorded meanwhile (not by this process's requests: they wait)
            return repeat(stored, digest)
        turn.recorded_for(record.customer_key)  # its operations go before the backlog's
        if operations and not self.till_first.offer(first, len(operations)):
            self._wake_outbox()  # (a sale with nothing to send, a QR's, wakes nothing)
        self._wake_printer()
        waiting = self._sale_loyalty.after_wait(answer, operations)
        if request.open_drawer:  # recorded: now, beside the wait for the credits, not after
            final, drawer = await asyncio.gather(waiting, self._drawer.open())
            final = final.model_copy(update={"drawer": drawer})
        else:
            final = await waiting
        if final != answer:  # a full disk: the sale is recorded, a repeat gets the first answer
            with contextlib.suppress(JournalUnavailable):
                await self._journal.set_sale_answer(request.sale_id, final.model_dump(mode="json"))
        return final

    # --- after the sale -----------------------------------------------------------------

    async def refund(self, sale_id: str, request: RefundRequest) -> ActionAnswer:
        return await self._after_sale.refund(sale_id, request)

    async def void(self, sale_id: str) -> ActionAnswer:
        return await self._after_sale.void(sale_id)

    async def reprint(self, sale_id: str) -> ActionAnswer:
        return await self._after_sale.reprint(sale_id)

    # --- rewards and status ---------------------------------------------------------------

    async def claim_reward(self, request: ClaimRequest) -> ClaimAnswer:
        return await self.rewards.claim(request, self._customers.peek())

    async def collectable_rewards(self, key: str | None, card: str | None) -> Collectables:
        return await self.rewards.collectable_rewards(key, card, self._customers.peek())

    async def status(self) -> TillStatus:
        return await self._health.status()

    async def open_drawer(self) -> DrawerAnswer:
        return await self._drawer.open()

    async def operation_settled(self, operation: Operation) -> None:
        """The outbox moved an operation on: tell the POS screen (the sale waiting for it
        hears it from the outbox's ``Settled`` signal)."""
        if operation.state is OperationState.DONE:
            self._health.api_answered()
        what = {"sale_id": operation.sale_id, "kind": operation.kind, "state": str(operation.state)}
        await self._events.publish(
            "operation", {**what, "credits": credits_moved(operation.result)}
        )
