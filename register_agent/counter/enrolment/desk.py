"""The enrolment desk: customers without their card at hand. Hands out a new
card (find or create the member / contact, link the card, print a welcome slip), finds a
customer by e-mail, lists customers (v1), and makes a found customer the next sale's, just
like a scan. Online only, like reward claims (``counter/claims.py``): offline, a clear
refusal.

It also remembers the last unregistered card the till saw, so the hand-out may leave its
number out: a scan of one offers the POS the hand-out, and a sale naming one (looked up by
``till/named_card.py``) tells the desk too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from register_agent.common.events import EventBus
from register_agent.common.logs import remember_card
from register_agent.common.masking import safe_tail
from register_agent.config import ReceiptConfig, TillConfig
from register_agent.counter.customers import CurrentCustomer
from register_agent.counter.enrolment.messages import (
    ChooseCustomerRequest,
    CustomerEntry,
    CustomerList,
    HandOutAnswer,
    HandOutRequest,
)
from register_agent.counter.enrolment.refusals import card_refusal, refusal
from register_agent.counter.health import TillHealth
from register_agent.counter.messages import CustomerView
from register_agent.errors import CounterRefusal, LoyaltyApiError
from register_agent.journal import Journal
from register_agent.loyalty.bundle import Loyalty
from register_agent.loyalty.domain import CardState, Customer
from register_agent.loyalty.retries import Deadline
from register_agent.receipts.welcome import slip_id, welcome_lines, welcome_record

#: what a scan of an unregistered card offers the POS (the "customer_refused" event)
HAND_OUT = "hand_out_card"
UNREGISTERED_MESSAGE = (
    "this card is not registered to a customer yet: hand it out with the customer's e-mail "
    "(Hand out card)"
)


class EnrolmentDesk:
    """Hands out cards and finds customers for the till; see the module docstring."""

    def __init__(
        self,
        journal: Journal,
        loyalty: Loyalty,
        events: EventBus,
        health: TillHealth,
        customers: CurrentCustomer,
        *,
        till: TillConfig,
        receipt: ReceiptConfig,
        wake_printer: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._loyalty = loyalty.service
        self._enrolment = loyalty.enrolment
        self._events = events
        self._health = health
        self._customers = customers
        self._till = till
        self._receipt = receipt
        self._wake_printer = wake_printer
        self._clock = clock
        self._blank: tuple[str, float] | None = None  # (card, monotonic time scanned)

    # --- what the till tells the desk ---------------------------------------------------

    def unregistered_scanned(self, card: str) -> dict[str, str]:
        """Remember the blank card (a hand-out may leave its number out); the event's offer."""
        self.remember_blank(card)
        return {"offer": HAND_OUT, "reason": UNREGISTERED_MESSAGE}

    def remember_blank(self, card: str) -> None:
        """An unregistered card was seen (scanned, chosen, or named with a sale): the next
        hand-out may leave its number out."""
        self._blank = (card, time.monotonic())

    # --- the local API --------------------------------------------------------------------

    async def hand_out(self, request: HandOutRequest) -> HandOutAnswer:
        card = request.card or self._blank_card()
        remember_card(card)  # should any log line hold it: its last 4 characters only
        deadline = self._loyalty.counter_deadline()
        try:
            customer = await self._enrolment.hand_out_card(card, request.email, deadline=deadline)
        except LoyaltyApiError as exc:
            raise refusal(exc, self._health, "handing out a card") from exc
        self._health.api_answered()
        if self._blank is not None and self._blank[0] == card:
            self._blank = None
        view = await self._bind(card, customer, deadline)
        lines = await self._welcome_lines(card, customer.balance, deadline)
        slip = "printing" if self._till.prints != "pos" else "pos"
        sale_id = slip_id(card, request.email)
        if slip == "printing":
            await self._print_welcome(sale_id, lines, customer.balance)
        return HandOutAnswer(
            customer=view,
            customer_key=customer.ref.key,
            slip=slip,
            slip_id=sale_id,
            slip_lines=lines,
        )

    async def find(self, email: str) -> CustomerEntry:
        try:
            found = await self._enrolment.find_customer(
                email, deadline=self._loyalty.counter_deadline()
            )
        except LoyaltyApiError as exc:
            raise refusal(exc, self._health, "finding a customer") from exc
        self._health.api_answered()
        return CustomerEntry(key=found.ref.key, display=found.display, balance=found.balance)

    async def list_customers(self, page: int, limit: int) -> CustomerList:
        try:
            found = await self._enrolment.list_customers(
                page, limit, deadline=self._loyalty.counter_deadline()
            )
        except LoyaltyApiError as exc:
            raise refusal(exc, self._health, "listing customers") from exc
        self._health.api_answered()
        customers = tuple(
            CustomerEntry(key=c.ref.key, display=c.display, balance=c.balance)
            for c in found.customers
        )
        return CustomerList(
            customers=customers,
            page=found.page,
            limit=found.limit,
            last_page=found.last_page,
            total=found.total,
        )

    async def choose(self, request: ChooseCustomerRequest) -> CustomerView:
        """The customer of the e-mail or card becomes the next sale's, exactly like a scan."""
        deadline = self._loyalty.counter_deadline()
        if request.email is not None:
            try:
                customer = await self._enrolment.find_customer(request.email, deadline=deadline)
            except LoyaltyApiError as exc:
                raise refusal(exc, self._health, "finding a customer") from exc
            self._health.api_answered()
            return await self._bind(None, customer, deadline)
        card = request.card or ""
        remember_card(card)
        try:
            found = await self._loyalty.identify(card, deadline=deadline)
        except LoyaltyApiError as exc:
            raise refusal(exc, self._health, "looking up a card") from exc
        self._health.api_answered()
        if not found.usable or found.customer is None:
            if found.state is CardState.UNREGISTERED:
                self.remember_blank(card)
            raise card_refusal(found.state, found.reason)
        return await self._bind(card, found.customer, deadline)

    # --- helpers ---------------------------------------------------------------------------

    def _blank_card(self) -> str:
        window = self._till.customer_window_s
        if self._blank is None or time.monotonic() - self._blank[1] > window:
            raise CounterRefusal(
                "no_card",
                "no blank card was scanned: scan the new card, or send its number as card",
                status=422,
            )
        return self._blank[0]

    async def _bind(self, card: str | None, customer: Customer, deadline: Deadline) -> CustomerView:
        """Bind the customer to the next sale, with their rewards, and tell the POS screen."""
        try:
            rewards = tuple(await self._loyalty.list_rewards(customer.ref, deadline=deadline))
        except LoyaltyApiError:
            rewards = ()  # the customer is known: the rewards can wait for the next scan
        bound = self._customers.bind(card, customer, rewards)
        view = bound.view()
        await self._events.publish("customer", {**view.model_dump(), "offline": False})
        return view

    async def _welcome_lines(
        self, card: str, balance: int | None, deadline: Deadline
    ) -> tuple[str, ...]:
        try:
            shop = (await self._loyalty.register(deadline=deadline)).shop_name
        except LoyaltyApiError:
            shop = ""  # the card is handed out: a slip without the shop's name will do
        return welcome_lines(shop, safe_tail(card), balance, self._receipt.language)

    async def _print_welcome(
        self, sale_id: str, lines: tuple[str, ...], balance: int | None
    ) -> None:
        record = welcome_record(sale_id, lines, balance, self._receipt.currency, self._clock())
        _, created = await self._journal.record_sale(record, [], print_receipt=True)
        if created:  # a repeated hand-out finds its slip printed (or printing) already
            self._wake_printer()
