"""A customer's profile at the counter: v1 marketing recipients (2.1 row 19), v3 contact
attributes (3.1 row 14) and v3 subscriptions (the Leat docs' subscription-types and
contact-subscriptions pages). Every change is a ledger row.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from register_agent.sandbox.enrolment import checked_email
from register_agent.sandbox.marketing import Recipient
from register_agent.sandbox.params import ApiError, Fields
from register_agent.sandbox.routes import Call, Reply, RouteTable
from register_agent.sandbox.v3_common import (
    UUID,
    V3Fields,
    contact,
)
from register_agent.sandbox.v3_contacts import (
    get_contact_body,
    subscription_body,
    subscription_type_body,
    subscriptions_of,
)

V1_ROUTES = RouteTable("v1", "/api/v1/register")
V3_ROUTES = RouteTable("v3", "/api/v3/register")
_TRUE, _FALSE = ("1", "true", True, 1), ("0", "false", False, 0)


def _boolean(f: Fields, name: str) -> bool | None:
    f.require(name)
    value = f.params.get(name)
    if value is None:
        return None
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    f.fail(name, f"The {name.replace('_', ' ')} field must be true or false.")
    return None


# --- v1 marketing recipients -----------------------------------------------------------------


def _recipient_body(call: Call, recipient: Recipient) -> dict[str, Any]:
    program = next(p for p in call.store.seed.marketing_programs if p.id == recipient.program_id)
    return {
        "id": recipient.id,
        "email": recipient.email,
        "is_subscribed": recipient.is_subscribed,
        "marketing_program": {"id": program.id, "name": program.name},
    }


def _recipient(call: Call) -> Recipient:
    wanted = int(call.args[0])
    found = next((r for r in call.store.marketing.recipients if r.id == wanted), None)
    if found is None:
        raise ApiError(55020, "Marketing recipient not found.")
    return found


@V1_ROUTES.add("POST", "/marketing-recipients")
def create_recipient(call: Call) -> Reply:
    f = Fields(call.params, ["marketing_program_id", "email"])
    program_id = f.integer("marketing_program_id", required=True)
    email = checked_email(f)  # checks the rest and raises the 1003
    if not any(p.id == program_id for p in call.store.seed.marketing_programs):
        raise ApiError(55004, "Marketing program not found.")
    marketing = call.store.marketing
    if program_id is None or marketing.recipient(program_id, email) is not None:
        raise ApiError(55005, "Marketing recipient already exists.")
    recipient = marketing.add_recipient(program_id, email)
    call.store.ledger.record(
        "marketing_recipient_created",
        call.register,
        "v1",
        id=recipient.id,
        marketing_program_id=program_id,
        email=recipient.email,
        is_subscribed=True,
    )
    return Reply(_recipient_body(call, recipient))


# Decision: the list takes marketing_program_id and email as filters (undocumented; the
# client also checks every e-mail it gets back), and page / limit like v3's lists.
@V1_ROUTES.add("GET", "/marketing-recipients")
def list_recipients(call: Call) -> Reply:
    f = Fields(call.params, ["marketing_program_id", "email", "page", "limit"])
    program_id = f.integer("marketing_program_id")
    email = f.text("email")
    page = f.integer("page", minimum=1) or 1
    limit = min(f.integer("limit", minimum=1) or 30, 100)
    f.done()
    found = [
        r
        for r in call.store.marketing.recipients
        if program_id in (None, r.program_id) and (email is None or r.email == email.lower())
    ]
    items = [_recipient_body(call, r) for r in found[(page - 1) * limit : page * limit]]
    meta = {
        "page": page,
        "limit": limit,
        "last_page": max(1, -(-len(found) // limit)),
        "total": len(found),
    }
    return Reply(items, meta)


@V1_ROUTES.add("GET", r"/marketing-recipients/(\d+)")
def get_recipient(call: Call) -> Reply:
    Fields(call.params, ()).done()
    return Reply(_recipient_body(call, _recipient(call)))


@V1_ROUTES.add("PUT", r"/marketing-recipients/(\d+)")
def update_recipient(call: Call) -> Reply:
    f = Fields(call.params, ["is_subscribed"])
    subscribed = _boolean(f, "is_subscribed")
    f.done()
    recipient = _recipient(call)
    recipient.is_subscribed = bool(subscribed)
    call.store.ledger.record(
        "marketing_recipient_updated",
        call.register,
        "v1",
        id=recipient.id,
        marketing_program_id=recipient.program_id,
        email=recipient.email,
        is_subscribed=recipient.is_subscribed,
    )
    return Reply(_recipient_body(call, recipient))


# --- v3 contact attributes -------------------------------------------------------------------


def _attribute_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return str(value)
    return None


@V3_ROUTES.add("PUT", f"/contacts/{UUID}")
def update_contact(call: Call) -> Reply:
    f = V3Fields(call, ["attributes"])
    f.require("attributes")
    given = f.params.get("attributes")
    if given is not None and not isinstance(given, Mapping):
        f.fail("attributes", "The attributes must be an array of name => value.")
    changes = dict(given) if isinstance(given, Mapping) else {}
    defined = set(call.store.seed.contact_attributes)
    for name, value in changes.items():
        if name not in defined:
            f.fail(f"attributes.{name}", f"The attribute {name} does not exist.")
        elif value not in (None, "") and _attribute_text(value) is None:
            f.fail(f"attributes.{name}", f"The attribute {name} must be a single value.")
    f.done()
    account = contact(call, call.args[0])
    for name, value in changes.items():
        text = None if value in (None, "") else _attribute_text(value)
        if text is None:
            account.attributes.pop(name, None)  # an empty value clears the attribute
        else:
            account.attributes[name] = text
    now = {name: account.attributes.get(name) for name in changes}
    call.store.ledger.record(
        "contact_updated", call.register, "v3", contact=account.member.uuid, attributes=now
    )
    return get_contact_body(call, account)


# --- v3 subscriptions ------------------------------------------------------------------------


@V3_ROUTES.add("GET", "/subscription-types")
def subscription_types(call: Call) -> Reply:
    V3Fields(call).done()
    return Reply([subscription_type_body(kind) for kind in call.store.seed.subscription_types])


@V3_ROUTES.add("GET", f"/contact-subscriptions/{UUID}")
def contact_subscriptions(call: Call) -> Reply:
    # the docs list contact_uuid as this call's parameter: it is the path's, and accepted
    # in the query as well (a client that sends both is answered, not refused)
    V3Fields(call, ["contact_uuid"]).done()
    return Reply(subscriptions_of(call, contact(call, call.args[0]), numbered=True))


@V3_ROUTES.add("PUT", f"/contact-subscriptions/{UUID}/(subscribe|unsubscribe)")
def change_subscription(call: Call) -> Reply:
    f = V3Fields(call, ["subscription_type_uuid"])
    wanted = f.text("subscription_type_uuid", required=True)
    f.done()
    account = contact(call, call.args[0])
    kind = next((k for k in call.store.seed.subscription_types if k.uuid == wanted), None)
    if kind is None or not kind.active:
        raise ApiError(55030, "Subscription type not found.")
    marketing = call.store.marketing
    uuid = account.member.uuid
    status = (
        marketing.subscribe(uuid, kind)
        if call.args[1] == "subscribe"
        else marketing.unsubscribe(uuid, kind)
    )
    call.store.ledger.record(
        "subscription_changed",
        call.register,
        "v3",
        contact=uuid,
        subscription_type=kind.uuid,
        action=call.args[1],
        status=status,
    )
    return Reply(subscription_body(kind, status))
