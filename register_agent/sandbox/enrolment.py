"""Enrolling customers at the counter: creating, finding and listing members / contacts
(also anonymous ones, and claiming those), linking cards to them and deleting identifiers,
for v1 (2.1 rows 2, 5, 7) and v3 (3.1 rows 5-7, 10-13).

A card handed out unregistered (``member: null``) is linked here; after that it earns
credits like any other.
"""

from __future__ import annotations

import re

from register_agent.sandbox.params import ApiError, Fields
from register_agent.sandbox.records import Account
from register_agent.sandbox.routes import Call, Reply, RouteTable
from register_agent.sandbox.v1 import card_body
from register_agent.sandbox.v3_common import (
    UUID,
    V3Fields,
    contact,
    identifier,
    identifier_body,
)
from register_agent.sandbox.v3_contacts import get_contact_body

V1_ROUTES = RouteTable("v1", "/api/v1/register")
V3_ROUTES = RouteTable("v3", "/api/v3/register")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def checked_email(f: Fields) -> str:
    email = f.text("email", required=True)
    if email is not None and not _EMAIL.fullmatch(email):
        f.fail("email", "The email must be a valid email address.")
    f.done()
    return email or ""


@V1_ROUTES.add("POST", "/members")
def create_member(call: Call) -> Reply:
    email = checked_email(Fields(call.params, ["email"]))
    if call.store.account_by_email(email) is not None:
        raise ApiError(55017, "Member already exists.")
    account = call.store.add_member(email)
    call.store.ledger.record("member_created", call.register, "v1", member_id=account.member.id)
    return Reply({"id": account.member.id, "email": email})


@V1_ROUTES.add("POST", "/link-loyalty-card")
def link_card(call: Call) -> Reply:
    f = Fields(call.params, ["member_id", "loyalty_card_id"])
    card_id = f.integer("loyalty_card_id", required=True)
    member_id = f.integer("member_id", required=True)
    f.done()
    account = call.store.account(id=member_id)
    if account is None:
        raise ApiError(55012, "Member not found.")
    card = call.store.card(id=card_id)
    if card is None:
        raise ApiError(55007, "Loyalty card not found.")
    if card.member_id is not None:
        raise ApiError(55016, "The card is already linked to a member.")
    card = call.store.link(card, account)
    call.store.ledger.record(
        "card_linked", call.register, "v1", card=card.hash, member_id=member_id
    )
    return Reply(card_body(call, card))


@V3_ROUTES.add("POST", "/contacts")
def create_contact(call: Call) -> Reply:
    email = checked_email(V3Fields(call, ["email", "referral_code"]))
    if call.store.account_by_email(email) is not None:
        raise ApiError(60005, "Contact already exists.")
    account = call.store.add_member(email)
    call.store.ledger.record("contact_created", call.register, "v3", contact=account.member.uuid)
    return Reply({"uuid": account.member.uuid})


# Both spellings of the anonymous-contact path are served (the docs', the Postman export's).
@V3_ROUTES.add("POST", "/contacts/anonymous")
@V3_ROUTES.add("POST", "/contact/anonymous")
def create_anonymous_contact(call: Call) -> Reply:
    f = V3Fields(call, ["contact_identifier_value", "contact_identifier_name"])
    value = f.text("contact_identifier_value")
    name = f.text("contact_identifier_name")
    f.done()
    card = call.store.card(hash=value) if value else None
    if card is not None and card.member_id is not None:
        raise ApiError(60014, "Contact identifier is already linked.")
    if card is not None and card.status != "ACTIVE":
        raise ApiError(60004, "Contact identifier inactive.")
    account = call.store.add_member(None)
    if card is not None:
        call.store.link(card, account)
    elif value is not None:
        call.store.add_card(value, name, account)
    call.store.ledger.record(
        "contact_created", call.register, "v3", contact=account.member.uuid, identifier=value
    )
    return Reply({"uuid": account.member.uuid})


@V3_ROUTES.add("POST", "/contact-identifiers")
def create_identifier(call: Call) -> Reply:
    f = V3Fields(call, ["contact_identifier_value", "contact_uuid", "contact_identifier_name"])
    value = f.text("contact_identifier_value", required=True) or ""
    contact_uuid = f.text("contact_uuid")
    name = f.text("contact_identifier_name")
    f.done()
    holder: Account | None = None if contact_uuid is None else contact(call, contact_uuid)
    if call.store.card(hash=value) is not None:
        raise ApiError(60006, "Contact identifier already exists.")
    card = call.store.add_card(value, name, holder)
    call.store.ledger.record(
        "identifier_created", call.register, "v3", identifier=value, contact=contact_uuid
    )
    return Reply(identifier_body(call, card))


@V3_ROUTES.add("PUT", "/contact-identifiers/link")
def link_identifier(call: Call) -> Reply:
    f = V3Fields(call, ["contact_identifier_value", "contact_uuid"])
    value = f.text("contact_identifier_value", required=True) or ""
    contact_uuid = f.text("contact_uuid", required=True)
    f.done()
    card = identifier(call, value)
    holder = contact(call, contact_uuid)
    if card.member_id is not None:
        raise ApiError(60014, "Contact identifier is already linked.")
    card = call.store.link(card, holder)
    call.store.ledger.record(
        "identifier_linked", call.register, "v3", identifier=value, contact=contact_uuid
    )
    return Reply(identifier_body(call, card))


@V3_ROUTES.add("PUT", "/contact-identifiers/unlink")
def unlink_identifier(call: Call) -> Reply:
    f = V3Fields(call, ["contact_identifier_value"])
    value = f.text("contact_identifier_value", required=True) or ""
    f.done()
    card = call.store.card(hash=value)
    if card is None:
        raise ApiError(60003, "Contact identifier not found.")
    if card.member_id is None:
        raise ApiError(60011, "Contact identifier is not linked to a contact.")
    card = call.store.link(card, None)
    call.store.ledger.record("identifier_unlinked", call.register, "v3", identifier=value)
    return Reply(identifier_body(call, card))


@V1_ROUTES.add("GET", "/members")
def list_members(call: Call) -> Reply:
    """List Members (Nov 2021): its paging is not public; decided like v3's contacts list
    (``page``, ``limit`` up to 100, meta ``{page, limit, last_page, total}``), by id."""
    f = Fields(call.params, ["page", "limit"])
    page = f.integer("page", minimum=1) or 1
    limit = f.integer("limit", minimum=1) or 10
    if limit > 100:
        f.fail("limit", "The limit may not be greater than 100.")
    f.done()
    members = sorted((a.member for a in call.store.accounts.values()), key=lambda m: m.id)
    start = (page - 1) * limit
    items = [{"id": m.id, "email": m.email} for m in members[start : start + limit]]
    meta = {
        "page": page,
        "limit": limit,
        "last_page": max(1, -(-len(members) // limit)),
        "total": len(members),
    }
    return Reply(items, meta)


@V3_ROUTES.add("GET", "/contacts/find-or-create")
def find_or_create_contact(call: Call) -> Reply:
    email = checked_email(V3Fields(call, ["email"]))
    account = call.store.account_by_email(email)
    if account is None:
        account = call.store.add_member(email)
        call.store.ledger.record(
            "contact_created", call.register, "v3", contact=account.member.uuid
        )
    return get_contact_body(call, account)


@V3_ROUTES.add("PUT", f"/contacts/{UUID}/claim")
def claim_anonymous_contact(call: Call) -> Reply:
    email = checked_email(V3Fields(call, ["email"]))
    account = contact(call, call.args[0])
    if account.member.email is not None:
        raise ApiError(60016, "Contact not anonymous.")
    # decision (the docs are silent): an e-mail another contact has is 60005, as on create
    if call.store.account_by_email(email) is not None:
        raise ApiError(60005, "Contact already exists.")
    account = call.store.set_email(account, email)
    call.store.ledger.record("contact_claimed", call.register, "v3", contact=account.member.uuid)
    return get_contact_body(call, account, balance_id=True)  # as the claim example shows


@V3_ROUTES.add("DELETE", "/contact-identifiers")
def delete_identifier(call: Call) -> Reply:
    f = V3Fields(call, ["contact_identifier_value"])
    value = f.text("contact_identifier_value", required=True) or ""
    f.done()
    card = call.store.card(hash=value)
    if card is None:
        raise ApiError(60003, "Contact identifier not found.")
    body = identifier_body(call, card)
    call.store.delete_card(card)
    call.store.ledger.record("identifier_deleted", call.register, "v3", identifier=value)
    return Reply(body, meta={})  # the docs show no answer: today's kept
