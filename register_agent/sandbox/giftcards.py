"""Giftcards and prepaid balances over HTTP: v1 (2.1 rows 15-18) and v3 (3.1 rows 16,
30-34), strict like every route of the sandbox, over the store's ``GiftcardBook``.

v1's find answer carries the balance as ``amount_in_cents`` like v3 (the 2021 SDK parsed
no balance field at all: our decision, in the help text too).
"""

from __future__ import annotations

from typing import Any

from register_agent.common.money import to_euros
from register_agent.sandbox.giftcard_state import Card, GiftcardTxn
from register_agent.sandbox.params import ApiError, Fields
from register_agent.sandbox.routes import NO_META, Call, Reply, RouteTable
from register_agent.sandbox.state import now
from register_agent.sandbox.v3_common import UUID, V3Fields, contact, identifier

V1_ROUTES = RouteTable("v1", "/api/v1/register")
V3_ROUTES = RouteTable("v3", "/api/v3/register")
_DIGITAL = 1  # "type": 0 physical, 1 digital; only digital cards may be made by the API


def _euros(cents: int) -> str:
    return f"€{to_euros(cents)}"  # the wire's "display_amount": "€12.50"


def _card_v1(call: Call, card: Card) -> dict[str, Any]:
    seed = card.seed
    program = call.store.giftcards.programs.get(card.program) if card.program else None
    return {
        "id": seed.id,
        "hash": seed.hash,
        "type": seed.type,
        "active": seed.active,
        "upgradeable": seed.upgradeable,
        "expiration_date": seed.expiration_date,
        "amount_in_cents": card.balance,  # the balance: see the module's docstring
        "giftcard_program": None if program is None else {"id": program.id, "name": program.name},
    }


def _display_amount(cents: int) -> str:
    """The found card's ``display_amount`` as the docs print it: "€ 25,00" (Dutch)."""
    euros, rest = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}€ {euros},{rest:02d}"


def _card_v3(call: Call, card: Card) -> dict[str, Any]:
    """``giftcards/find-one-by`` as documented: no id, url or program uuid."""
    seed = card.seed
    program = call.store.giftcards.programs.get(card.program) if card.program else None
    return {
        "uuid": seed.uuid,
        "type": seed.type,
        "hash": seed.hash,
        "expiration_date": seed.expiration_date,
        "active": seed.active,
        "upgradeable": seed.upgradeable,
        "amount_in_cents": card.balance,
        "display_amount": _display_amount(card.balance),
        "giftcard_program": None if program is None else {"name": program.name},
    }


def _created_v3(call: Call, card: Card) -> dict[str, Any]:
    """``POST giftcards`` as documented, which prints the amount "€0.00" where the find
    prints "€ 25,00": each as shown. Decision (the docs are silent): ``amount`` is the
    balance in currency units; the program's ``calculator_flow`` is "DEFAULT" and its
    ``expiration_days`` null (the seed sets no expiry)."""
    seed = card.seed
    program = call.store.giftcards.programs.get(card.program) if card.program else None
    return {
        "id": seed.id,
        "uuid": seed.uuid,
        "type": seed.type,
        "hash": seed.hash,
        "amount_in_cents": card.balance,
        "upgradeable": seed.upgradeable,
        "active": seed.active,
        "expiration_date": seed.expiration_date,
        "amount": to_euros(card.balance),
        "url": f"{call.base_url}/giftcard-balance?hash={seed.hash}",
        "display_amount": _euros(card.balance),
        "formatted_expiration_date": (seed.expiration_date or "")[:10] or None,
        "giftcard_program": (
            None
            if program is None
            else {
                "id": program.id,
                "name": program.name,
                "uuid": program.uuid,
                "max_amount_in_cents": program.max_amount_cents,
                "calculator_flow": "DEFAULT",
                "expiration_days": None,
            }
        ),
        "giftcard_recipients": [],
    }


def _txn_v1(txn: GiftcardTxn) -> dict[str, Any]:
    return {"id": txn.id, "amount_in_cents": txn.amount, "created_at": txn.created_at}


def _txn_v3(call: Call, txn: GiftcardTxn) -> dict[str, Any]:
    shop = call.store.shop(txn.register)
    return {
        "id": txn.id,
        "uuid": txn.uuid,
        "amount_in_cents": txn.amount,
        "type": "STANDARD",
        "settled": False,
        "card": {"id": txn.card.seed.id, "uuid": txn.card.seed.uuid},
        "shop": {"id": shop.id, "uuid": shop.uuid, "name": shop.name},
        "settlements": [],
        "created_at": txn.created_at,
    }


def _hash(f: Fields) -> str:
    value = f.text("hash", required=True)
    f.done()
    return value or ""


# ----- v1


@V1_ROUTES.add("GET", "/giftcards/find-one-by")
def v1_find(call: Call) -> Reply:
    card = call.store.giftcards.card(hash=_hash(Fields(call.params, ["hash"])))
    return Reply(_card_v1(call, card))


@V1_ROUTES.add("POST", "/giftcards")
def v1_create(call: Call) -> Reply:
    f = Fields(call.params, ["giftcard_program_id", "type"])
    program_id = f.integer("giftcard_program_id", required=True)
    kind = f.integer("type", required=True)
    f.done()
    if kind != _DIGITAL:
        raise ApiError(55021, "Only Digital giftcards can by created using the public API.")
    program = call.store.giftcards.program(id=program_id)
    return Reply(_card_v1(call, call.store.giftcards.create(call.register, "v1", program)))


@V1_ROUTES.add("POST", "/giftcard-transactions")
def v1_transaction(call: Call) -> Reply:
    f = Fields(call.params, ["giftcard_id", "amount"])
    card_id = f.integer("giftcard_id", required=True)
    amount = f.integer("amount", required=True)
    f.done()
    book = call.store.giftcards
    card = book.card(id=card_id)
    call.pause()  # the latency fault: the commit point
    return Reply(_txn_v1(book.spend_or_load(call.register, "v1", card, amount or 0)))


@V1_ROUTES.add("POST", r"/giftcard-transactions/correct/(\d+)")
def v1_correct(call: Call) -> Reply:
    Fields(call.params, []).done()
    book = call.store.giftcards
    original = book.transaction(id=int(call.args[0]))
    return Reply(_txn_v1(book.correct(call.register, "v1", original)))


# ----- v3


@V3_ROUTES.add("GET", "/giftcards/find-one-by")
def v3_find(call: Call) -> Reply:
    card = call.store.giftcards.card(hash=_hash(V3Fields(call, ["hash"])))
    return Reply(_card_v3(call, card), meta=NO_META)  # as documented: no meta


@V3_ROUTES.add("POST", "/giftcards")
def v3_create(call: Call) -> Reply:
    f = V3Fields(call, ["type", "giftcard_program_uuid"])
    kind = f.integer("type", required=True)
    program_uuid = f.text("giftcard_program_uuid", required=True)
    f.done()
    if kind != _DIGITAL:
        raise ApiError(55021, "Only Digital giftcards can by created using the public API.")
    program = call.store.giftcards.program(uuid=program_uuid)
    return Reply(_created_v3(call, call.store.giftcards.create(call.register, "v3", program)))


@V3_ROUTES.add("POST", "/giftcard-transactions")
def v3_transaction(call: Call) -> Reply:
    f = V3Fields(call, ["giftcard_uuid", "amount_in_cents", "custom_attributes"])
    card_uuid = f.text("giftcard_uuid", required=True)
    amount = f.integer("amount_in_cents", required=True)
    f.done()
    book = call.store.giftcards
    card = book.card(uuid=card_uuid)
    call.pause()
    return Reply(_txn_v3(call, book.spend_or_load(call.register, "v3", card, amount or 0)))


@V3_ROUTES.add("GET", f"/giftcard-transactions/{UUID}")
def v3_get_transaction(call: Call) -> Reply:
    V3Fields(call).done()
    return Reply(_txn_v3(call, call.store.giftcards.transaction(uuid=call.args[0])))


@V3_ROUTES.add("POST", f"/giftcard-transactions/{UUID}/correct")
def v3_correct(call: Call) -> Reply:
    V3Fields(call).done()
    book = call.store.giftcards
    original = book.transaction(uuid=call.args[0])
    # not on the registers pages: today's meta kept
    return Reply(_txn_v3(call, book.correct(call.register, "v3", original)), meta={})


# reverse calls are served for GET (the SDK) and POST (the docs)
@V3_ROUTES.add("GET POST", f"/giftcard-transactions/{UUID}/reverse")
def v3_reverse(call: Call) -> Reply:
    V3Fields(call).done()
    book = call.store.giftcards
    original = book.transaction(uuid=call.args[0])
    return Reply(_txn_v3(call, book.reverse(call.register, "v3", original)))


def _prepaid_body(cents: int) -> dict[str, Any]:
    return {"balance_in_cents": cents, "balance": _euros(cents)}


# the register page prints /prepaid/balance, the SDK and the OAuth page prepaid-balance;
# both are served (the client sends prepaid-balance)
@V3_ROUTES.add("GET", f"/contacts/{UUID}/prepaid-balance")
@V3_ROUTES.add("GET", f"/contacts/{UUID}/prepaid/balance")
def v3_prepaid_balance(call: Call) -> Reply:
    V3Fields(call).done()
    account = contact(call, call.args[0])
    return Reply(_prepaid_body(call.store.giftcards.prepaid.get(account.member.id, 0)))


@V3_ROUTES.add("POST", "/prepaid-transactions")
def v3_prepaid_transaction(call: Call) -> Reply:
    f = V3Fields(call, ["contact_uuid", "contact_identifier_value", "amount_in_cents"])
    f.require("contact_uuid", unless="contact_identifier_value")
    f.not_both("contact_uuid", "contact_identifier_value")
    contact_uuid = f.text("contact_uuid")
    value = f.text("contact_identifier_value")
    amount = f.integer("amount_in_cents", required=True)
    f.done()
    card = identifier(call, value) if value is not None else None
    holder = call.store.card_holder(card) if card is not None else contact(call, contact_uuid)
    if holder is None:
        raise ApiError(55031, "Contact not found.")
    balance = call.store.giftcards.prepaid_move(call.register, holder.member.id, amount or 0)
    txn_uuid = call.store.new_uuid()
    call.store.ledger.record(
        "prepaid_transaction",
        call.register,
        "v3",
        uuid=txn_uuid,
        member={"id": holder.member.id, "uuid": holder.member.uuid},
        amount_in_cents=amount,
        balance_after_cents=balance,
    )
    shop = call.shop
    return Reply(
        {
            "uuid": txn_uuid,
            "amount_in_cents": amount,
            "prepaid_balance": _prepaid_body(balance),
            "created_at": now(),
            "shop": {"id": shop.id, "uuid": shop.uuid, "reference": None, "name": shop.name},
            "contact_identifier": None
            if card is None
            else {"name": card.name, "value": card.hash, "active": card.status == "ACTIVE"},
        }
    )
