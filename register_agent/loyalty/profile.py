"""A customer's profile at the counter, the same for Register API v1 and v3: the newsletter
(v1 marketing recipients, v3 subscriptions) and the custom attributes a cashier may set.

Both are online only and idempotent by nature: subscribing someone who is subscribed, or
setting a first name to what it is, changes nothing, so a call whose answer was lost is
simply made again. ``make_profile_service`` picks the implementation for the loyalty service.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Literal, Protocol

from register_agent.config import NewsletterConfig
from register_agent.loyalty.domain import CustomerRef, LoyaltyService
from register_agent.loyalty.retries import Deadline


class NewsletterState(StrEnum):
    """Where a customer stands with the till's newsletter after a change."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    #: a double opt-in: the customer confirms through the e-mail that was just sent
    PENDING_CONFIRMATION = "pending_confirmation"


class ProfileService(Protocol):
    """Newsletter and attributes; failures are the ``register_agent.errors`` API classes."""

    version: Literal["v1", "v3"]

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


def make_profile_service(loyalty: LoyaltyService, config: NewsletterConfig) -> ProfileService:
    """The profile service beside ``loyalty``, on the same HTTP connection."""
    # imported here: each implementation imports its version's service module
    from register_agent.loyalty.v1.profile import V1ProfileService  # noqa: PLC0415
    from register_agent.loyalty.v1.service import V1LoyaltyService  # noqa: PLC0415
    from register_agent.loyalty.v3.profile import V3ProfileService  # noqa: PLC0415
    from register_agent.loyalty.v3.service import V3LoyaltyService  # noqa: PLC0415

    if isinstance(loyalty, V1LoyaltyService):
        return V1ProfileService(loyalty.api, config)
    if isinstance(loyalty, V3LoyaltyService):
        return V3ProfileService(loyalty.api, config)
    raise TypeError(f"no profile service for {type(loyalty).__name__}")
