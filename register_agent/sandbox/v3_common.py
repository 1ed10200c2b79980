"""Shapes and look-ups shared by the v3 routes: contacts, identifiers, transactions, and
the errors v3 gives for a missing contact (55031) or identifier (60003 / 60004).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from register_agent.sandbox.params import ApiError, Fields, invalid
from register_agent.sandbox.records import Account, Transaction
from register_agent.sandbox.routes import Call, Reply
from register_agent.sandbox.seed import Card, SubscriptionType

UUID = "([^/]+)"
UNIT = {
    "id": 1,
    "name": "purchase_amount",
    "label": "Purchase Amount",
    "prefix": "€",
    "is_default": True,
}
# A register key already names its shop, so shop_uuid is optional everywhere.
SHOP = "shop_uuid"


def contact_ref(account: Account, balance: int | None = None) -> dict[str, Any]:
    return {
        "uuid": account.member.uuid,
        "email": account.member.email,
        "credit_balance": {"balance": account.balance if balance is None else balance},
    }


def identifier_body(call: Call, card: Card, *, with_contact: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": card.name,
        "value": card.hash,
        "active": card.status == "ACTIVE",
    }
    if with_contact:
        holder = call.store.card_holder(card)
        body["contact"] = (
            None if holder is None else {"uuid": holder.member.uuid, "email": holder.member.email}
        )
    return body


def transaction_body(call: Call, txn: Transaction) -> dict[str, Any]:
    shop = call.store.shop(txn.register)
    body: dict[str, Any] = {
        "uuid": txn.uuid,
        "type": txn.type,
        "credits": txn.credits,
        "created_at": txn.created_at,
        "channel": "REGISTER",
        "contact": contact_ref(txn.account, txn.balance_after) if txn.account else None,
        "shop": {"id": shop.id, "uuid": shop.uuid, "type": shop.type, "name": shop.name},
        "contact_identifier": identifier_body(call, txn.card, with_contact=False)
        if txn.card
        else None,
    }
    if txn.reward is None:
        body.update(unit_value=txn.amount, unit=UNIT if txn.amount is not None else None)
    else:
        reward = txn.reward
        body.update(
            title=reward.title,
            expires_at=None,
            has_been_collected=True,
            reward={
                "uuid": reward.uuid,
                "title": reward.title,
                "reward_type": reward_type(reward.type),
                "required_credits": reward.required_credits,
                "pre_redeemable": False,
            },
        )
    for name in call.store.seed.loyalty_transaction_attributes:
        body[name] = txn.attributes.get(name)
    return body


def reward_type(kind: str) -> str:
    # v3 knows PHYSICAL and DIGITAL only; a v1 "external" reward is a digital one whose
    # external_property (a reward attribute) tells the till what to do.
    return "PHYSICAL" if kind == "physical" else "DIGITAL"


def contact(call: Call, uuid: str | None) -> Account:
    account = call.store.account(uuid=uuid)
    if account is None:
        raise ApiError(55031, "Contact not found.")
    return account


def identifier(call: Call, value: str) -> Card:
    card = call.store.card(hash=value)
    if card is None:
        raise ApiError(60003, "Contact identifier not found.")
    if card.status != "ACTIVE":
        raise ApiError(60004, "Contact identifier is inactive.")
    return card


class V3Fields(Fields):
    """v3 input: every call also takes an optional ``shop_uuid`` (the key names the shop),
    which must name the register's own shop (else 1008)."""

    def __init__(self, call: Call, accepted: Iterable[str] = ()) -> None:
        super().__init__(call.params, [*accepted, SHOP])
        self.call = call

    def done(self) -> None:
        shop_uuid = self.text(SHOP)
        super().done()
        if shop_uuid is not None and shop_uuid != self.call.shop.uuid:
            raise ApiError(1008, "Shop not found.")


def card_of(call: Call, account: Account, value: str | None) -> Card | None:
    """The optional ``contact_identifier_value``: it must be this contact's active card."""
    if value is None:
        return None
    card = identifier(call, value)
    if card.member_id is None:
        raise ApiError(60011, "Contact identifier is not linked to a contact.")
    if card.member_id != account.member.id:
        raise invalid("contact_identifier_value", "The identifier belongs to another contact.")
    return card


def contact_values(account: Account) -> dict[str, Any]:
    """A contact's ``current_values``: the platform's own fields (among them a log-in link
    for the customer's app, which a till must never show) and the custom attributes."""
    member = account.member
    return {
        "uuid": member.uuid,
        "email": member.email,
        "status": "ACTIVE",
        "loyalty_balance": account.balance,
        "is_anonymous": member.email is None,
        "custom_app_login_url": f"https://portal.sandbox.invalid/home?token=t-{member.uuid}",
        **account.attributes,
    }


def subscription_type_body(kind: SubscriptionType) -> dict[str, Any]:
    return {
        "id": kind.id,
        "uuid": kind.uuid,
        "name": kind.name,
        "description": kind.description,
        "active": kind.active,
        "strategy": kind.strategy,
    }


def subscription_body(kind: SubscriptionType, status: str) -> dict[str, Any]:
    return {
        "is_subscribed": status == "SUBSCRIBED",
        "status": status,
        "subscription_type": subscription_type_body(kind),
    }


def subscriptions_of(call: Call, account: Account) -> list[dict[str, Any]]:
    """The contact's status for every active subscription type."""
    marketing = call.store.marketing
    return [
        subscription_body(kind, marketing.status(account.member.uuid, kind))
        for kind in call.store.seed.subscription_types
        if kind.active
    ]


def get_contact_body(account: Account, subscriptions: Sequence[dict[str, Any]] = ()) -> Reply:
    values = contact_values(account)
    for subscription in subscriptions:  # as the docs' example: subscription_status_{type id}
        values[f"subscription_status_{subscription['subscription_type']['id']}"] = subscription[
            "status"
        ]
    shown = {name: "" if value is None else str(value) for name, value in values.items()}
    return Reply(
        {
            **contact_ref(account),
            "tier": None,
            "subscriptions": list(subscriptions),
            "prepaid_balance": {"balance_in_cents": 0, "balance": "€0.00"},
            "current_values": values,
            "current_display_values": shown,
            "attributes": [],  # deprecated (Leat docs); a PHP empty array
        }
    )
