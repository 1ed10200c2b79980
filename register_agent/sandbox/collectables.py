"""Leat's collectable rewards in the sandbox: a claim of a pre-redeemable reward (a reward
reception, ``state.claim_reward``) takes the credits and leaves the reward waiting at the
shop; the client API lists a contact's waiting rewards, collects one by its loyalty
transaction's uuid and reverses a collection. Under the account's personal access token
(``sandbox/keys.py``), shaped as the docs' Collectable Rewards page shows them.

Where the page is silent, the sandbox decides, and the agent is built on the same:

- The list holds the rewards still to be picked up (the page: "still need to be picked
  up"): a collected one leaves it, a reversed collection puts it back.
- A collectable reward's ``uuid`` is its reward reception's, the loyalty transaction the
  collect call names; the collection answers the same uuid, which its reverse names.
- Collecting one already collected is refused (1003, the uuid named) and changes nothing,
  so a collection is never booked twice; an unknown uuid is the page's 80300 "Reward not
  found.", an expired one its 80300 "Reward is expired.".
- Reversing a collection gives no credits back: the docs' tutorial says it "restores a
  collected reward back to collectable status"; the credits come back only when the claim
  itself is reversed (``POST /register/reward-receptions/{uuid}/reverse``), which also
  takes the reward off the list. Reversing one not collected is refused (1003).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from register_agent.sandbox.order_input import text
from register_agent.sandbox.params import ApiError, invalid
from register_agent.sandbox.records import Collectable
from register_agent.sandbox.routes import Call, Reply, RouteTable
from register_agent.sandbox.v3_common import reward_reception_fields

ROUTES = RouteTable("client", "/api/v3/oauth/clients")
API = "client"


def _entry(call: Call, held: Collectable) -> dict[str, Any]:
    """One collectable reward as the page's list shows it."""
    txn = held.reception
    fields = reward_reception_fields(call, txn)
    account = txn.account
    assert account is not None  # a claim always names its contact
    return {
        "contact": {
            "uuid": account.member.uuid,
            "email": account.member.email,
            "credit_balance": {"balance": account.balance},
        },
        "created_at": txn.created_at,
        "uuid": txn.uuid,
        "title": fields["title"],
        "reward": fields["reward"],
        "expires_at": fields["expires_at"],
        "has_been_collected": held.collected,
    }


def _held(call: Call, uuid: str) -> Collectable:
    held = call.store.collectables.get(uuid)
    if held is None:
        raise ApiError(80300, "Reward not found.")
    return held


def _ledger(call: Call, kind: str, held: Collectable) -> None:
    txn = held.reception
    member = txn.account.member if txn.account else None
    call.store.ledger.record(
        kind,
        call.register,
        API,
        uuid=txn.uuid,
        member=None if member is None else {"id": member.id, "uuid": member.uuid},
        reward={"id": txn.reward.id, "uuid": txn.reward.uuid} if txn.reward else None,
        credits=0,
    )


@ROUTES.add("GET", "/collectable-rewards")
def list_collectable_rewards(call: Call) -> Reply:
    contact_uuid = text(call.params, "contact_uuid")
    account = call.store.account(uuid=contact_uuid)
    if account is None:
        raise ApiError(55031, "Contact not found.")
    waiting = [
        _entry(call, held)
        for held in call.store.collectables.values()
        if held.reception.account is account and not held.collected
    ]
    return Reply(waiting, meta={})  # as documented


@ROUTES.add("PUT", "/collectable-rewards/collect/([^/]+)")
def collect_reward(call: Call) -> Reply:
    held = _held(call, call.args[0])
    if held.collected:
        raise invalid("loyalty_transaction_uuid", "The reward has already been collected.")
    expires = reward_reception_fields(call, held.reception)["expires_at"]
    if expires is not None and datetime.fromisoformat(expires) <= datetime.now(UTC):
        raise ApiError(80300, "Reward is expired.")
    call.pause()  # the latency fault's commit point
    held.collected = True
    _ledger(call, "collectable_reward_collected", held)
    return Reply({"uuid": held.reception.uuid, "status": "COLLECTED"}, meta={})


@ROUTES.add("POST", "/collectable-rewards/([^/]+)/reverse")
def reverse_collection(call: Call) -> Reply:
    held = _held(call, call.args[0])
    if not held.collected:
        raise invalid("uuid", "The reward has not been collected.")
    call.pause()
    held.collected = False
    _ledger(call, "collectable_reward_collection_reversed", held)
    return Reply({"uuid": held.reception.uuid, "status": "REVERSED"}, meta={})
