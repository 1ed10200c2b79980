"""Shapes and look-ups shared by the v3 routes: identifiers, receptions (credit and reward,
as the docs' examples show them), and the errors v3 gives for a missing contact (55031)
or identifier (60003 / 60004). A contact's own body is ``v3_contacts``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from register_agent.sandbox.params import ApiError, Fields, invalid
from register_agent.sandbox.records import Account, Transaction
from register_agent.sandbox.routes import Call
from register_agent.sandbox.seed import Card, Reward, Shop

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


def contact_ref(account: Account) -> dict[str, Any]:
    """A contact inside a reception as the docs show it. The balance is the contact's
    current one, in a list entry too (the docs' list shows the same balance on every
    entry, not a running one). Decision (the docs are silent): the credit balance's ``id``
    is the member's id, one balance per contact."""
    return {
        "uuid": account.member.uuid,
        "email": account.member.email,
        "credit_balance": {"id": account.member.id, "balance": account.balance},
    }


def shop_body(shop: Shop) -> dict[str, Any]:
    """A shop inside a reception, with its address as the docs show it. Decision (the docs
    are silent): the address's id is the shop's; the coordinates and the docs' second
    spelling of house number and postal code are null, as in every docs example."""
    address = {
        "id": shop.id,
        "shop_id": shop.id,
        **shop.address.model_dump(),
        **dict.fromkeys(("latitude", "longitude", "house_number", "postal_code")),
    }
    body = {"id": shop.id, "uuid": shop.uuid, "type": shop.type, "name": shop.name}
    return {**body, "address": address}


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


def transaction_body(call: Call, txn: Transaction, *, listed: bool = False) -> dict[str, Any]:
    """A credit or reward reception as the docs' create examples show it; ``listed``: as an
    entry of the contact's loyalty-transaction list, which carries the custom attributes
    only when the seed (or ``POST /_sandbox/options``) says so."""
    body: dict[str, Any] = {
        "uuid": txn.uuid,
        "type": txn.type,
        "credits": txn.credits,
        "created_at": txn.created_at,
        "contact": contact_ref(txn.account) if txn.account else None,
        "shop": shop_body(call.store.shop(txn.register)),
        "contact_identifier": identifier_body(call, txn.card, with_contact=False)
        if txn.card
        else None,
    }
    if txn.reward is None:
        # a reception of credits alone still names the program's unit, its value null
        body.update(unit_value=txn.amount, unit=UNIT)
    else:
        body.update(reward_reception_fields(call, txn))
    if not listed or call.store.list_attributes:
        for name in call.store.seed.loyalty_transaction_attributes:
            body[name] = txn.attributes.get(name)
    return body


def reward_reception_fields(call: Call, txn: Transaction) -> dict[str, Any]:
    """What a reward reception adds: the whole reward (with its attributes), when the claim
    expires and whether it was collected, as the docs show. A digital reward's reception
    is a ``digital_reward_reception`` with its ``digital_reward_code`` (the vendor SDK's
    fixtures); decision: the sandbox's code is derived from the reception's id."""
    reward = txn.reward
    assert reward is not None
    stock = call.store.reward(id=reward.id)
    collectable = call.store.collectables.get(txn.uuid)
    fields: dict[str, Any] = {
        "title": reward.title,
        "reward": {
            "id": reward.id,
            "uuid": reward.uuid,
            "title": reward.title,
            "description": reward.description,
            "reward_type": reward_type(reward.type),
            "media": reward.media.model_dump() if reward.media else None,
            "required_credits": reward.required_credits,
            "pre_redeemable": reward.pre_redeemable,
            "expiration_duration": reward.expiration_duration,
            "is_active": reward.active,
            "cost_price": None,
            "stock": stock.left if stock else None,
            **reward_attributes(reward),
        },
        "expires_at": _expiry(txn.created_at, reward.expiration_duration),
        "has_been_collected": collectable is not None and collectable.collected,
    }
    if reward_type(reward.type) == "DIGITAL" and txn.credits < 0:
        fields["type"] = "digital_reward_reception"
        fields["digital_reward_code"] = {"code": f"SANDBOX-{txn.id}"}
    return fields


def _expiry(created_at: str, seconds: int | None) -> str | None:
    if seconds is None:
        return None
    when = datetime.fromisoformat(created_at) + timedelta(seconds=seconds)
    return when.isoformat()


def reward_attributes(reward: Reward) -> dict[str, Any]:
    """A reward's custom attributes, by name next to its fields as the docs show them:
    the seed's one reward attribute, ``external_property`` (null when unset)."""
    return {"external_property": reward.external_property}


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
        raise ApiError(60004, "Contact identifier inactive.")
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
