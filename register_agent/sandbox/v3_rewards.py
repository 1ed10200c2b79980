"""The v3 reward routes: the rewards a contact sees, one reward, and claiming one (a reward
reception). Shaped as the registers pages' "Rewards" and "Reward Receptions" examples;
the reward attributes of a reward (``external_property`` in the seed) travel by name next
to its standard fields, as the docs show custom attributes.
"""

from __future__ import annotations

from typing import Any

from register_agent.sandbox.params import ApiError
from register_agent.sandbox.records import Stock
from register_agent.sandbox.routes import Call, Reply, RouteTable
from register_agent.sandbox.v3_common import (
    V3Fields,
    card_of,
    contact,
    reward_attributes,
    reward_type,
    transaction_body,
)

ROUTES = RouteTable("v3", "/api/v3/register")


def _reward_not_found() -> ApiError:
    return ApiError(6003, "Reward not found.")


def list_entry(stock: Stock) -> dict[str, Any]:
    """One entry of ``GET /rewards`` as the docs' list shows it: no stock, cost price or
    expiry; ``pre_redeemable`` and ``expiration_duration`` appear on some of the docs'
    entries only, and are sent on every one (the agent's model defaults them). A claim of
    a pre-redeemable reward is a collectable reward (``collectables.py``)."""
    reward = stock.reward
    kind = reward_type(reward.type)
    return {
        "id": reward.id,
        "uuid": reward.uuid,
        "title": reward.title,
        "type": kind,
        "is_active": reward.active,
        "reward_type": kind,
        "description": reward.description,
        "required_credits": reward.required_credits,
        "media": reward.media.model_dump() if reward.media else None,
        "pre_redeemable": reward.pre_redeemable,
        "expiration_duration": reward.expiration_duration,
        **reward_attributes(reward),
    }


@ROUTES.add("GET", "/rewards")
def list_rewards(call: Call) -> Reply:
    f = V3Fields(call, ["contact_uuid"])
    contact_uuid = f.text("contact_uuid", required=True)  # as the docs and the SDK say
    f.done()
    contact(call, contact_uuid)
    return Reply([list_entry(stock) for stock in call.store.stock.values()], meta={})


@ROUTES.add("GET", "/rewards/([^/]+)")
def get_reward(call: Call) -> Reply:
    """``GET /rewards/{uuid}``: the docs' example has ``active`` next to ``is_active`` and
    no ``id``; both as shown."""
    V3Fields(call).done()
    stock = call.store.reward(uuid=call.args[0])
    if stock is None:
        raise _reward_not_found()
    reward = stock.reward
    return Reply(
        {
            "uuid": reward.uuid,
            "title": reward.title,
            "description": reward.description,
            "cost_price": None,
            "required_credits": reward.required_credits,
            "media": reward.media.model_dump() if reward.media else None,
            "is_active": reward.active,
            "active": reward.active,
            "reward_type": reward_type(reward.type),
            "stock": stock.left,
            **reward_attributes(reward),
        },
        meta={},
    )


@ROUTES.add("POST", "/reward-receptions")
def claim_reward(call: Call) -> Reply:
    f = V3Fields(call, ["contact_uuid", "reward_uuid", "contact_identifier_value"])
    contact_uuid = f.text("contact_uuid", required=True)
    reward_uuid = f.text("reward_uuid", required=True)
    value = f.text("contact_identifier_value")
    f.done()
    account = contact(call, contact_uuid)
    card = card_of(call, account, value)
    stock = call.store.reward(uuid=reward_uuid)
    if stock is None:
        raise _reward_not_found()
    call.pause()
    txn = call.store.claim_reward(call.register, "v3", account, stock, card=card)
    pre_redeemed = {"collectable": True} if txn.uuid in call.store.collectables else {}
    call.store.ledger.transaction("reward_reception", txn, **pre_redeemed)
    return Reply(transaction_body(call, txn), meta={})  # as documented
