"""The v1 (2021) Register API routes: members, loyalty cards, credit receptions, staged
credit receptions, rewards and reward receptions, as docs/register-api.md "v1 routes" has
them.
"""

from __future__ import annotations

from typing import Any

from register_agent.sandbox.params import ApiError, Fields
from register_agent.sandbox.records import Account, Staged, Transaction
from register_agent.sandbox.routes import Call, Reply, RouteTable
from register_agent.sandbox.seed import Card, Reward
from register_agent.sandbox.state import credits_for

ROUTES = RouteTable("v1", "/api/v1/register")


def member_ref(account: Account | None) -> dict[str, Any] | None:
    return None if account is None else {"id": account.member.id, "email": account.member.email}


def member_and_balance(account: Account) -> dict[str, Any]:
    return {"member": member_ref(account), "credit_balance": {"balance": account.balance}}


def member_found(account: Account) -> dict[str, Any]:
    """``members/{id}`` and ``find-one-by``: custom attributes are extra keys of the member
    object there (docs/register-api.md, "v1 routes"); elsewhere a member is just ``{id, email}``."""
    found = member_and_balance(account)
    found["member"] = {**account.attributes, **found["member"]}
    return found


def card_body(call: Call, card: Card) -> dict[str, Any]:
    return {
        "id": card.id,
        "hash": card.hash,
        "type": card.type,
        "status": card.status,
        "member": member_ref(call.store.card_holder(card)),
        **card.attributes,  # a card's custom attributes are extra keys (2.1 #6)
    }


def reception_body(txn: Transaction) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": txn.id,
        "credits": txn.credits,
        "purchase_amount": txn.amount,
        "created_at": txn.created_at,
        "member": member_ref(txn.account),
    }
    if txn.account is not None:  # the client takes it as optional
        body["credit_balance"] = {"balance": txn.balance_after}
    return body


def staged_body(call: Call, staged: Staged) -> dict[str, Any]:
    return {
        "id": staged.id,
        "url": f"{call.base_url}/s/{staged.hash}",  # only the field is documented, not its form
        "hash": staged.hash,
        "credits": staged.credits,
        "purchase_amount": staged.purchase_amount,
        "created_at": staged.created_at,
        "credit_reception": reception_body(staged.claimed) if staged.claimed else None,
    }


def reward_body(reward: Reward, left: int | None) -> dict[str, Any]:
    return {
        "id": reward.id,
        "title": reward.title,
        "required_credits": reward.required_credits,
        "active": reward.active,
        "stock": left,
        "price": None,
        "external_property": reward.external_property,
        "media": reward.media.model_dump() if reward.media else None,
    }


def customer(call: Call, card_id: int | None, member_id: int | None) -> tuple[Account, Card | None]:
    """The customer behind ``loyalty_card_id`` or ``member_id``, with v1's card errors."""
    if card_id is None:
        account = call.store.account(id=member_id)
        if account is None:
            raise ApiError(55012, "Member not found.")
        return account, None
    card = call.store.card(id=card_id)
    if card is None:
        raise ApiError(55007, "Loyalty card not found.")
    if card.status != "ACTIVE":
        raise ApiError(1010, "Kaart is niet geactiveerd | Card not activated.")
    holder = call.store.card_holder(card)
    if holder is None:
        raise ApiError(1013, "Card not registered.")
    return holder, card


def customer_fields(f: Fields) -> tuple[int | None, int | None]:
    """``loyalty_card_id`` or ``member_id``: exactly one."""
    card_id = f.integer("loyalty_card_id")
    member_id = f.integer("member_id")
    f.require("loyalty_card_id", unless="member_id")
    f.not_both("loyalty_card_id", "member_id")
    return card_id, member_id


@ROUTES.add("GET", "")
def register_info(call: Call) -> Reply:
    Fields(call.params, ()).done()
    program = call.store.seed.loyalty_program
    shop = call.shop
    return Reply(
        {
            "id": call.register.id,
            "name": call.register.name,
            "identifier": call.register.identifier,
            "shop": {
                "id": shop.id,
                "name": shop.name,
                "loyalty_program": {"id": program.id, "name": program.name},
            },
        }
    )


@ROUTES.add("GET", "/members/find-one-by")
def find_member(call: Call) -> Reply:
    f = Fields(call.params, ["email"])
    email = f.text("email", required=True)
    f.done()
    account = call.store.account_by_email(email or "")
    if account is None:
        raise ApiError(55012, "Member not found.")
    return Reply(member_found(account))


@ROUTES.add("GET", r"/members/(\d+)")
def get_member(call: Call) -> Reply:
    Fields(call.params, ()).done()
    account = call.store.account(id=int(call.args[0]))
    if account is None:
        raise ApiError(55012, "Member not found.")
    return Reply(member_found(account))


@ROUTES.add("GET", "/loyalty-cards/find-one-by")
def find_card(call: Call) -> Reply:
    f = Fields(call.params, ["hash"])
    hash = f.text("hash", required=True)
    f.done()
    card = call.store.card(hash=hash)
    if card is None:
        raise ApiError(55007, "Loyalty card not found.")
    return Reply(card_body(call, card))


@ROUTES.add("POST", "/credit-receptions")
def create_credit_reception(call: Call) -> Reply:
    f = Fields(call.params, ["loyalty_card_id", "member_id", "purchase_amount", "credits"])
    card_id, member_id = customer_fields(f)
    amount = f.decimal("purchase_amount")
    credits = f.integer("credits", minimum=0)
    f.require("purchase_amount", unless="credits")
    if amount is not None and amount < 0:
        f.fail("purchase_amount", "The purchase amount must be at least 0.")
    f.done()
    account, card = customer(call, card_id, member_id)
    if credits is None:
        credits = credits_for(call.shop, amount or 0)
    with call.crediting(account):
        txn = call.store.credit(
            call.register, "v1", credits, account=account, card=card, amount=amount
        )
    call.store.ledger.transaction("credit_reception", txn)
    return Reply(reception_body(txn))


@ROUTES.add("GET", r"/credit-receptions/(\d+)")
def get_credit_reception(call: Call) -> Reply:
    Fields(call.params, ()).done()
    txn = call.store.transaction(id=int(call.args[0]))
    if txn is None or txn.type != "credit_reception":
        raise ApiError(1028, "Credit reception not found.")
    if txn.register.shop_id != call.register.shop_id:
        raise ApiError(55024, "This credit reception was not created by this shop.")
    return Reply(reception_body(txn))


@ROUTES.add("POST", "/staged-credit-receptions")
def create_staged(call: Call) -> Reply:
    f = Fields(call.params, ["purchase_amount", "credits"])
    amount = f.decimal("purchase_amount")
    credits = f.integer("credits", minimum=0)
    f.require("purchase_amount", unless="credits")
    if amount is not None and amount < 0:
        f.fail("purchase_amount", "The purchase amount must be at least 0.")
    f.done()
    if credits is None:
        credits = credits_for(call.shop, amount or 0)
    call.pause()
    staged = call.store.stage(call.register, credits, amount)
    body = staged_body(call, staged)
    call.store.ledger.record(
        "staged_credit_reception",
        call.register,
        "v1",
        id=staged.id,
        hash=staged.hash,
        url=body["url"],
        credits=credits,
        amount=amount,
    )
    return Reply(body)


@ROUTES.add("GET", r"/staged-credit-receptions/(\d+)")
def get_staged(call: Call) -> Reply:
    Fields(call.params, ()).done()
    wanted = int(call.args[0])
    staged = next((s for s in call.store.staged if s.id == wanted), None)
    if staged is None or staged.register.shop_id != call.register.shop_id:
        raise ApiError(1041, "Staged Credit Reception not found.")
    return Reply(staged_body(call, staged))


@ROUTES.add("GET", "/rewards")
def list_rewards(call: Call) -> Reply:
    f = Fields(call.params, ["loyalty_card_id", "member_id"])
    card_id = f.integer("loyalty_card_id")
    member_id = f.integer("member_id")
    f.not_both("loyalty_card_id", "member_id")
    f.done()
    balance = None
    if card_id is not None or member_id is not None:
        balance = customer(call, card_id, member_id)[0].balance
    groups: dict[str, list[dict[str, Any]]] = {"physical": [], "digital": [], "external": []}
    for stock in call.store.stock.values():
        reward = stock.reward
        claimable = balance is None or (
            reward.required_credits <= balance and stock.left != 0
        )  # a customer's list holds what they can claim now
        if reward.active and claimable:
            groups[reward.type].append(reward_body(reward, stock.left))
    return Reply(groups)


@ROUTES.add("POST", r"/rewards/(physical|digital|external)/reward-reception")
def claim_reward(call: Call) -> Reply:
    f = Fields(call.params, ["reward_id", "loyalty_card_id", "member_id"])
    reward_id = f.integer("reward_id", required=True)
    card_id, member_id = customer_fields(f)
    f.done()
    kind = call.args[0]
    stock = call.store.reward(id=reward_id)
    if stock is None or stock.reward.type != kind:
        raise ApiError(6003, "Reward not found.")
    account, card = customer(call, card_id, member_id)
    call.pause()
    txn = call.store.claim_reward(call.register, "v1", account, stock, card=card)
    call.store.ledger.transaction("reward_reception", txn)
    reward = stock.reward
    return Reply(
        {
            "id": txn.id,
            "title": reward.title,
            "credits": txn.credits,
            **member_and_balance(account),
            f"{kind}_reward": {
                "id": reward.id,
                "title": reward.title,
                "required_credits": reward.required_credits,
            },
            "external_property": reward.external_property,
        }
    )
