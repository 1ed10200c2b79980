"""Enrolment at the counter, the same for v1 and v3: find a customer by e-mail, list them
(v1 only), and hand out a new card (find or create the member / contact, link the card).

A protocol of its own beside ``LoyaltyService`` (each version's bundle carries both), with
its implementations in ``v1.enrolment`` and ``v3.enrolment``. Every method raises only
``register_agent.errors`` classes; "already exists" and "already linked to this very
customer" are answers, not errors, so a hand-out repeated after a timeout is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from register_agent.errors import RequestRejected
from register_agent.loyalty.domain import Customer
from register_agent.loyalty.retries import Deadline

#: the till's own reasons for refusing a hand-out (``RequestRejected.code`` is the API's)
CARD_TAKEN = "card_taken"
CARD_UNKNOWN = "card_unknown"
CARD_INACTIVE = "card_inactive"


class HandOutRefused(RequestRejected):
    """The card cannot be handed out to this e-mail; ``reason`` is one of the constants
    above, for the local API's stable error code."""

    def __init__(self, reason: str, message: str, *, code: int | None = None) -> None:
        super().__init__(message, status=0, code=code)
        self.reason = reason


class ListingUnsupported(RequestRejected):
    """The Register API version offers no list of customers (v3)."""


@dataclass(frozen=True)
class CustomerPage:
    """One page of the program's customers (v1 List Members)."""

    customers: tuple[Customer, ...]
    page: int
    limit: int
    last_page: int
    total: int | None


def same_email(one: str | None, other: str) -> bool:
    # Piggy compares e-mail addresses without case (the sandbox's 55017 does too)
    return one is not None and one.strip().lower() == other.strip().lower()


def taken(card_tail: str) -> HandOutRefused:
    return HandOutRefused(
        CARD_TAKEN,
        f"card …{card_tail} already belongs to another customer; hand out another card",
    )


class Enrolment(Protocol):
    """Finding and enrolling customers at the counter over one Register API version."""

    async def find_customer(self, email: str, *, deadline: Deadline | None = None) -> Customer:
        """The customer with this e-mail, with the balance; ``RequestRejected`` with the
        API's not-found code (v1 55012, v3 55031) when there is none."""
        ...

    async def list_customers(
        self, page: int, limit: int, *, deadline: Deadline | None = None
    ) -> CustomerPage:
        """One page of customers (``ListingUnsupported`` on v3)."""
        ...

    async def hand_out_card(
        self, card: str, email: str, *, deadline: Deadline | None = None
    ) -> Customer:
        """Find or create the customer of ``email`` and link ``card`` to them; the customer
        with the card and the starting balance. Repeating it changes nothing; a card of
        another customer, an unknown or an inactive card is a ``HandOutRefused``."""
        ...
