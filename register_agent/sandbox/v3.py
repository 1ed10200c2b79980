"""The v3 Register API routes: contacts, contact identifiers, POS transactions, credit and
reward receptions with their reverses, rewards and loyalty tokens (docs/register-api.md,
"v3 routes").
"""

from __future__ import annotations

from register_agent.sandbox import tokens
from register_agent.sandbox.params import ApiError, Fields, invalid
from register_agent.sandbox.routes import NO_META, Call, Reply, RouteTable
from register_agent.sandbox.state import credits_for
from register_agent.sandbox.v3_common import (
    UNIT,
    UUID,
    V3Fields,
    card_of,
    contact,
    identifier,
    identifier_body,
    transaction_body,
)
from register_agent.sandbox.v3_contacts import get_contact_body

ROUTES = RouteTable("v3", "/api/v3/register")


@ROUTES.add("GET", "")
def register_info(call: Call) -> Reply:
    V3Fields(call).done()
    shop = call.shop
    return Reply(
        {
            "id": call.register.id,
            "name": call.register.name,
            "identifier": call.register.identifier,
            "shop": {"id": shop.id, "uuid": shop.uuid, "type": shop.type, "name": shop.name},
        },
        meta={},  # the registers pages show no example of this call: today's answer kept
    )


@ROUTES.add("GET", "/loyalty-program")
def loyalty_program(call: Call) -> Reply:
    V3Fields(call).done()
    program = call.store.seed.loyalty_program
    return Reply(
        {
            "id": program.id,
            "name": program.name,
            "max_amount": program.max_amount,
            "custom_credit_name": program.custom_credit_name,
            "unit": {k: UNIT[k] for k in ("name", "label", "prefix")},
        },
        meta={},  # as documented
    )


@ROUTES.add("GET", "/units")
def units(call: Call) -> Reply:
    V3Fields(call).done()
    return Reply([{k: UNIT[k] for k in ("name", "label", "prefix", "is_default")}], meta={})


@ROUTES.add("GET", "/loyalty-transaction-attributes/?")
def loyalty_transaction_attributes(call: Call) -> Reply:
    # The registers page shows no example answer; served as the client API's documented
    # twin answers (/oauth/clients/loyalty-transaction-attributes), the seed's names as text
    V3Fields(call).done()
    defined: list[dict[str, object]] = [
        {
            "name": name,
            "label": name,
            "placeholder": None,
            "type": "text",
            "field_type": "text",
            "options": [],
            "is_piggy_defined": False,
            "is_soft_read_only": False,
            "is_hard_read_only": False,
        }
        for name in call.store.seed.loyalty_transaction_attributes
    ]
    return Reply(defined, meta={})


@ROUTES.add("GET", "/contact-identifiers/find")
def find_identifier(call: Call) -> Reply:
    f = V3Fields(call, ["contact_identifier_value"])
    value = f.text("contact_identifier_value", required=True)
    f.done()
    return Reply(identifier_body(call, identifier(call, value or "")))


@ROUTES.add("GET", "/contacts/find-one-by")
def find_contact(call: Call) -> Reply:
    f = V3Fields(call, ["email"])
    email = f.text("email", required=True)
    f.done()
    account = call.store.account_by_email(email or "")
    if account is None:
        raise ApiError(55031, "Contact not found.")
    return get_contact_body(call, account)


@ROUTES.add("GET", f"/contacts/{UUID}")
def get_contact(call: Call) -> Reply:
    V3Fields(call).done()
    account = contact(call, call.args[0])
    return get_contact_body(call, account)


@ROUTES.add("GET", f"/contacts/{UUID}/credit-balance")
def credit_balance(call: Call) -> Reply:
    V3Fields(call).done()
    return Reply({"balance": contact(call, call.args[0]).balance})


@ROUTES.add("GET", f"/contacts/{UUID}/loyalty-transactions")
def loyalty_transactions(call: Call) -> Reply:
    f = V3Fields(call, ["page", "limit", "type"])
    page = f.integer("page", minimum=1) or 1
    limit = f.integer("limit", minimum=1) or 10
    kind = f.text("type")
    if kind not in (None, "credit_receptions", "reward_receptions"):
        f.fail("type", "The selected type is invalid.")
    if limit > 100:
        f.fail("limit", "The limit may not be greater than 100.")
    f.done()
    account = contact(call, call.args[0])
    found = [t for t in reversed(call.store.transactions) if t.account is account]
    if kind is not None:
        found = [t for t in found if t.type == kind[:-1]]
    total = len(found)
    start = (page - 1) * limit
    items = [transaction_body(call, t, listed=True) for t in found[start : start + limit]]
    meta = {
        "page": page,
        "limit": limit,
        "viewing_from": start + 1 if items else 0,
        "viewing_to": start + len(items),
        "last_page": max(1, -(-total // limit)),
        "total": total,
    }
    return Reply(items, meta)


@ROUTES.add("POST", "/credit-receptions")
def create_credit_reception(call: Call) -> Reply:
    attributes = call.store.seed.loyalty_transaction_attributes
    f = V3Fields(
        call,
        [
            "contact_uuid",
            "unit_value",
            "credits",
            "unit_name",
            "contact_identifier_value",
            "pos_transaction_uuid",
            "pos_transaction_id",
            *attributes,
        ],
    )
    contact_uuid = f.text("contact_uuid", required=True)
    amount = f.decimal("unit_value")
    credits = f.integer("credits")
    f.require("unit_value", unless="credits")
    unit_name = f.text("unit_name")
    value = f.text("contact_identifier_value")
    f.not_both("pos_transaction_uuid", "pos_transaction_id")  # the docs' and the SDK's spelling
    pos_uuid = f.text("pos_transaction_uuid") or f.text("pos_transaction_id")
    extra = {name: f.text(name) for name in attributes if f.has(name)}
    f.done()
    account = contact(call, contact_uuid)
    card = card_of(call, account, value)
    if unit_name is not None and unit_name != UNIT["name"]:
        raise ApiError(60007, "Unit not found.")
    pos = call.store.pos_transactions.get(pos_uuid or "") if pos_uuid else None
    if pos_uuid and (pos is None or pos.register.shop_id != call.register.shop_id):
        raise ApiError(1027, "POS Transaction not found.")
    if credits is None:
        credits = credits_for(call.shop, amount or 0)
    with call.crediting(account):
        if pos is not None and pos.linked is not None:  # checked after the pause: a race
            raise ApiError(6001, "The POS transaction is already linked to a credit reception.")
        txn = call.store.credit(
            call.register,
            "v3",
            credits,
            account=account,
            card=card,
            amount=amount,
            unit_name=UNIT["name"] if amount is not None else None,
            pos_transaction=pos_uuid,
            attributes={k: v for k, v in extra.items() if v},
        )
        if pos is not None:
            pos.linked = txn
    call.store.ledger.transaction("credit_reception", txn)
    return Reply(transaction_body(call, txn), meta={})  # as documented


@ROUTES.add("GET", "/credit-receptions/calculate")
def calculate(call: Call) -> Reply:
    f = V3Fields(call, ["unit_value", "unit_name", "contact_uuid", "account_uuid"])
    amount = f.decimal("unit_value", required=True)
    unit_name = f.text("unit_name")
    contact_uuid = f.text("contact_uuid")
    f.text("account_uuid")
    f.done()
    if contact_uuid is not None:
        contact(call, contact_uuid)
    if unit_name is not None and unit_name != UNIT["name"]:
        raise ApiError(60007, "Unit not found.")
    return Reply({"credits": credits_for(call.shop, amount or 0)}, meta={})


@ROUTES.add("GET POST", f"/credit-receptions/{UUID}/reverse")
def reverse_credit_reception(call: Call) -> Reply:
    return reverse(call, "credit_reception", ApiError(1028, "Credit reception not found."))


@ROUTES.add("GET POST", f"/reward-receptions/{UUID}/reverse")
def reverse_reward_reception(call: Call) -> Reply:
    return reverse(call, "reward_reception", invalid("uuid", "No reward reception has this uuid."))


def reverse(call: Call, kind: str, not_found: ApiError) -> Reply:
    V3Fields(call).done()
    original = call.store.transaction(uuid=call.args[0])
    if original is None or original.type != kind:
        raise not_found
    call.pause()
    txn = call.store.reverse(call.register, "v3", original)
    call.store.ledger.transaction(f"reverse_{kind}", txn)
    # the registers pages document no reverse: it answers like the reception it reverses
    return Reply(transaction_body(call, txn), meta={})


@ROUTES.add("POST", "/pos-transactions")
def create_pos_transaction(call: Call) -> Reply:
    f = V3Fields(call, ["amount_in_cents", "transaction_id", "terminal_id"])
    cents = f.integer("amount_in_cents", required=True)
    transaction_id = f.text("transaction_id")
    terminal_id = f.text("terminal_id")
    f.done()
    call.pause()
    pos = call.store.new_pos_transaction(call.register, cents or 0, transaction_id, terminal_id)
    body = {
        "uuid": pos.uuid,
        "transaction_id": transaction_id,
        "terminal_id": terminal_id,
        "created_at": pos.created_at,
        "amount_in_cents": pos.amount_in_cents,
    }
    call.store.ledger.record("pos_transaction", call.register, "v3", **body)
    return Reply(body, meta=NO_META)  # as documented: no meta at all


@ROUTES.add("POST", "/loyalty-tokens")
def claim_loyalty_token(call: Call) -> Reply:
    f = Fields(call.params, [*tokens.TOKEN_FIELDS, "shop_id", "hash", "contact_uuid"])
    contact_uuid = f.text("contact_uuid", required=True)
    f.done()
    account = contact(call, contact_uuid)
    call.pause()
    txn = tokens.claim(call.store, call.params, account, "v3", call.register)
    return Reply(transaction_body(call, txn), meta={})  # no example: today's answer kept
