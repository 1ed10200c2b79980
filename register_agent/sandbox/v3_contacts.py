"""A v3 contact's body as the docs' contact examples show it (get, find, find-or-create,
claim, update), with its subscriptions, its tier and its values raw and as displayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from register_agent.sandbox.records import Account
from register_agent.sandbox.routes import Call, Reply
from register_agent.sandbox.seed import SubscriptionType, Tier

#: how the dashboard shows a subscription status (the docs' example: "Unsubscribed");
#: decision (the docs show only that one): the others are written the same way
_STATUS_SHOWN = {
    "SUBSCRIBED": "Subscribed",
    "UNSUBSCRIBED": "Unsubscribed",
    "PENDING_CONFIRMATION": "Pending confirmation",
}
#: the list of a contact's subscriptions shows the status as a number (the docs' example:
#: 0 for unsubscribed) where every other answer shows its name; decision (only 0 is
#: documented): the others are numbered in the order the docs name them
_STATUS_NUMBER = {"UNSUBSCRIBED": 0, "SUBSCRIBED": 1, "PENDING_CONFIRMATION": 2}


def tier_of(call: Call, account: Account) -> Tier | None:
    wanted = account.member.tier
    return next((t for t in call.store.seed.tiers if t.id == wanted), None)


def tier_body(tier: Tier | None) -> dict[str, Any] | None:
    if tier is None:
        return None
    return {
        "uuid": tier.uuid,
        "name": tier.name,
        "description": tier.description,
        "position": tier.position,
        "media": None,
    }


def contact_values(account: Account, tier: Tier | None) -> dict[str, Any]:
    """A contact's ``current_values``: the platform's own fields (among them a log-in link
    for the customer's app, which a till must never show) and the custom attributes. The
    tier's raw value is its id as text, as in the docs' example (``"tier": "1"``)."""
    member = account.member
    values: dict[str, Any] = {
        "uuid": member.uuid,
        "email": member.email,
        "status": "ACTIVE",
        "loyalty_balance": account.balance,
        "is_anonymous": member.email is None,
        "custom_app_login_url": f"https://portal.sandbox.invalid/home?token=t-{member.uuid}",
        **account.attributes,
    }
    if tier is not None:
        values["tier"] = str(tier.id)
    return values


def display_values(values: dict[str, Any], tier: Tier | None) -> dict[str, str]:
    """``current_display_values``: every value as the dashboard shows it, as in the docs'
    example: "Active" for ACTIVE, "False" for false, "Unsubscribed", the tier's name for
    its id, "" for null."""
    shown: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            shown[name] = ""
        elif isinstance(value, bool):
            shown[name] = str(value)
        elif name == "status" and isinstance(value, str):
            shown[name] = value.capitalize()
        elif name.startswith("subscription_status_"):
            shown[name] = _STATUS_SHOWN.get(str(value), str(value))
        elif name == "tier" and tier is not None:
            shown[name] = tier.name
        else:
            shown[name] = str(value)
    return shown


def subscription_type_body(kind: SubscriptionType) -> dict[str, Any]:
    return {
        "id": kind.id,
        "uuid": kind.uuid,
        "name": kind.name,
        "description": kind.description,
        "active": kind.active,
        "strategy": kind.strategy,
    }


def subscription_body(
    kind: SubscriptionType, status: str, *, numbered: bool = False
) -> dict[str, Any]:
    return {
        "is_subscribed": status == "SUBSCRIBED",
        "status": _STATUS_NUMBER.get(status, 0) if numbered else status,
        "subscription_type": subscription_type_body(kind),
    }


def subscriptions_of(
    call: Call, account: Account, *, numbered: bool = False
) -> list[dict[str, Any]]:
    """The contact's status for every active subscription type."""
    marketing = call.store.marketing
    return [
        subscription_body(kind, marketing.status(account.member.uuid, kind), numbered=numbered)
        for kind in call.store.seed.subscription_types
        if kind.active
    ]


def get_contact_body(call: Call, account: Account, *, balance_id: bool = False) -> Reply:
    """The contact as the docs' examples show it; ``balance_id``: with the credit balance's
    id, as only the claim example shows it. The deprecated ``attributes`` is no longer
    sent: no example has it."""
    subscriptions: Sequence[dict[str, Any]] = subscriptions_of(call, account)
    tier = tier_of(call, account)
    values = contact_values(account, tier)
    for subscription in subscriptions:  # as the docs' example: subscription_status_{type id}
        values[f"subscription_status_{subscription['subscription_type']['id']}"] = subscription[
            "status"
        ]
    balance: dict[str, Any] = {"balance": account.balance}
    if balance_id:
        balance = {"id": account.member.id, **balance}
    cents = call.store.giftcards.prepaid.get(account.member.id, 0)
    return Reply(
        {
            "id": account.member.id,
            "uuid": account.member.uuid,
            "email": account.member.email,
            "tier": tier_body(tier),
            "subscriptions": list(subscriptions),
            "credit_balance": balance,
            "prepaid_balance": {"balance_in_cents": cents},
            "current_values": values,
            "current_display_values": display_values(values, tier),
        }
    )
