"""A loyalty card scanned at the counter: the customer it names, told to the POS in two steps.

The till (``till/sale.py``) passes each loyalty scan here. One Register API read finds the
card's customer; ``customer_identified`` goes out as soon as it answers (the name the
program knows and the card's tail, no balance). The balance and the rewards are then read
side by side; ``customer`` follows with everything, the event a POS has always had, and
the customer is bound to the next sale (the event stream's contract: ``api/docs.py``,
``EVENTS``).
"""

from __future__ import annotations

import asyncio
import logging

from register_agent.common.events import EventBus
from register_agent.common.masking import mask, safe_tail
from register_agent.counter.customers import BoundCustomer, CurrentCustomer, with_details
from register_agent.counter.enrolment.desk import EnrolmentDesk
from register_agent.counter.health import TillHealth
from register_agent.errors import LoyaltyApiError
from register_agent.loyalty.domain import (
    CardState,
    Customer,
    CustomerDetails,
    Identification,
    LoyaltyService,
)
from register_agent.loyalty.retries import Deadline
from register_agent.readers.scans import Scan

log = logging.getLogger(__name__)


class ScanDesk:
    """Turns a loyalty scan into the POS's events and the till's bound customer."""

    def __init__(
        self,
        loyalty: LoyaltyService,
        events: EventBus,
        health: TillHealth,
        customers: CurrentCustomer,
        enrolment: EnrolmentDesk,
    ) -> None:
        self._loyalty = loyalty
        self._events = events
        self._health = health
        self._customers = customers
        self._enrolment = enrolment

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
            # the balance is read below, beside the rewards: the customer is shown first
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
            if found.state is CardState.UNREGISTERED:  # offer the hand-out (counter/enrolment/)
                refused.update(self._enrolment.unregistered_scanned(scan.value))
            await self._events.publish("customer_refused", refused)
            return
        # Decision: told, not bound yet. The customer is bound to the next sale with the
        # ``customer`` event, as before this first event existed: ``GET /v1/customer`` and a
        # sale keep meaning "the scanned customer, balance and rewards read" (or found
        # unreadable), which POS screens and the counter's reward claims rely on.
        first = BoundCustomer(scan.value, with_details(customer, None), (), 0.0)
        await self._events.publish(
            "customer_identified", {**first.view().model_dump(), "offline": False}
        )
        await self._details(scan.value, customer, deadline)

    async def _details(self, card: str, customer: Customer, deadline: Deadline) -> None:
        """The balance and the rewards, read side by side within the scan's deadline."""
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
        read = details if isinstance(details, CustomerDetails) else None
        listed = tuple(rewards) if isinstance(rewards, list) else ()
        bound = self._customers.bind(card, with_details(customer, read), listed)
        await self._events.publish("customer", {**bound.view().model_dump(), "offline": False})
