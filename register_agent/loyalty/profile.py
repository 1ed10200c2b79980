"""A customer's profile at the counter, the same for Register API v1 and v3: the newsletter
(v1 marketing recipients, v3 subscriptions) and the custom attributes a cashier may set.

Both are online only and idempotent by nature: subscribing someone who is subscribed, or
setting a first name to what it is, changes nothing, so a call whose answer was lost is
simply made again. Each version's bundle (``v1.bundle``, ``v3.bundle``) brings its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol

from register_agent.loyalty.domain import CustomerRef
from register_agent.loyalty.retries import Deadline


class NewsletterState(StrEnum):
    """Where a customer stands with the till's newsletter after a change."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    #: a double opt-in: the customer confirms through the e-mail that was just sent
    PENDING_CONFIRMATION = "pending_confirmation"


class ProfileService(Protocol):
    """Newsletter and attributes; failures are the ``register_agent.errors`` API classes."""

    async def set_newsletter(
        self,
        customer: CustomerRef,
        email: str | None,
        subscribed: bool,
        *,
        deadline: Deadline | None = None,
    ) -> NewsletterState:
        """Opt ``customer`` in or out; ``email`` is the one the program knows (v1 needs it;
        None: read from the member)."""
        ...

    async def update_attributes(
        self,
        customer: CustomerRef,
        attributes: Mapping[str, str],
        *,
        deadline: Deadline | None = None,
    ) -> dict[str, str]:
        """Set the named attributes (others stay); the customer's attributes afterwards.
        v1 has no such call: RequestRejected."""
        ...
