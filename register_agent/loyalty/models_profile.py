"""Typed answers of the profile calls: v1 marketing recipients, v3 subscription types and
contact subscriptions (the Leat docs' subscription-types and contact-subscriptions pages).
"""

from __future__ import annotations

from register_agent.loyalty.v1.models import ApiModel


class MarketingProgramRef(ApiModel):
    id: int
    name: str | None = None


class MarketingRecipient(ApiModel):
    """A v1 marketing recipient: an e-mail address on one marketing program's list."""

    id: int
    email: str | None = None
    is_subscribed: bool = True
    marketing_program: MarketingProgramRef | None = None


class SubscriptionType(ApiModel):
    """A v3 subscription type; the docs show types whose ``uuid`` is null (not usable)."""

    id: int | None = None
    uuid: str | None = None
    name: str
    description: str | None = None
    active: bool = True
    strategy: str | None = None  # OPT_IN, OPT_OUT or DOUBLE_OPT_IN


class ContactSubscription(ApiModel):
    """A contact's status for one subscription type (also the subscribe call's answer)."""

    is_subscribed: bool
    # SUBSCRIBED, UNSUBSCRIBED or PENDING_CONFIRMATION; the docs' list of a contact's
    # subscriptions shows a number instead (0 for unsubscribed)
    status: str | int
    subscription_type: SubscriptionType | None = None
