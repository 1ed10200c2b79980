"""Leat's vouchers in the sandbox, under the key each call takes (docs/register-api.md, "The
client API at the counter"): list, find and redeem are Register API routes
(``/api/v3/register/vouchers...``, the register's key, as ``leat-openapi.yaml`` lists
them); lock, release and validate are the client API's (``/api/v3/oauth/clients/
vouchers/{uuid}/...``, the account's personal access token), where the openapi file and
the SDK put them, with find and redeem there too. A key is refused where the other kind
belongs (``keys.py``). The rules and decisions are the voucher book's
(``voucher_state.py``).

Validate is documented without an answer: the sandbox answers the voucher as Find does
when it could be redeemed now by that contact at that shop, and the redeem's own refusal
(80005, 80006, 80012, 80014, 80017) when it could not (decision: the same codes the
redeem would give, so a client reads both alike).
"""

from __future__ import annotations

from typing import Any

from register_agent.sandbox.order_input import text
from register_agent.sandbox.params import ApiError, invalid
from register_agent.sandbox.routes import Call, Reply, RouteTable
from register_agent.sandbox.v3_common import UUID
from register_agent.sandbox.voucher_state import HeldVoucher

REGISTER_ROUTES = RouteTable("v3", "/api/v3/register")
CLIENT_ROUTES = RouteTable("client", "/api/v3/oauth/clients")
STATUSES = ("ACTIVE", "REDEEMED", "EXPIRED", "DEACTIVATED", "INACTIVE", "LOCKED")


@REGISTER_ROUTES.add("GET", "/vouchers")
def list_vouchers(call: Call) -> Reply:
    status = call.params.get("status")
    if status is not None and status not in STATUSES:
        raise invalid("status", f"The status must be one of {', '.join(STATUSES)}.")
    contact = call.params.get("contact_uuid")
    limit = _whole(call.params.get("limit"), "limit", default=30)
    page = _whole(call.params.get("page"), "page", default=1)
    if not 0 <= limit <= 500:
        raise invalid("limit", "The limit must be between 0 and 500.")
    book = call.store.vouchers
    found = book.listed(status, contact if isinstance(contact, str) else None)
    start = (max(page, 1) - 1) * limit
    return Reply([book.json(held) for held in found[start : start + limit]])


@REGISTER_ROUTES.add("GET", "/vouchers/find")
@CLIENT_ROUTES.add("GET", "/vouchers/find")
def find_voucher(call: Call) -> Reply:
    book = call.store.vouchers
    return Reply(book.json(book.by_code(text(call.params, "code"))))


@REGISTER_ROUTES.add("POST", "/vouchers/redeem")
def redeem_voucher(call: Call) -> Reply:
    return _redeem(call, "v3")


@CLIENT_ROUTES.add("POST", "/vouchers/redeem")
def redeem_voucher_client(call: Call) -> Reply:
    return _redeem(call, "client")


def _redeem(call: Call, api: str) -> Reply:
    book = call.store.vouchers
    held = book.by_code(text(call.params, "code"))
    contact = _contact_and_shop(call, held)
    key = call.params.get("release_key")
    call.pause()  # the latency fault's commit point, as for orders
    book.redeem(held, contact, key if isinstance(key, str) else None, call.register, api)
    return Reply({**book.json(held), "voucher_redemption": held.redemption})


@CLIENT_ROUTES.add("POST", f"/vouchers/{UUID}/lock")
def lock_voucher(call: Call) -> Reply:
    book = call.store.vouchers
    held = book.by_uuid(call.args[0])
    call.pause()
    lock = book.lock(held, call.register, "client")
    return Reply(book.lock_json(held, lock))


@CLIENT_ROUTES.add("POST", f"/vouchers/{UUID}/release")
def release_voucher(call: Call) -> Reply:
    book = call.store.vouchers
    held = book.by_uuid(call.args[0])
    key = text(call.params, "release_key")
    call.pause()
    lock = book.release(held, key, call.register, "client")
    return Reply(book.lock_json(held, lock))


@CLIENT_ROUTES.add("POST", f"/vouchers/{UUID}/validate")
def validate_voucher(call: Call) -> Reply:
    book = call.store.vouchers
    held = book.by_uuid(call.args[0])
    _contact_and_shop(call, held)
    book.refuse_unusable(held)
    if held.lock is not None:
        raise ApiError(80017, "Voucher is already locked.")
    return Reply(book.json(held))


def _contact_and_shop(call: Call, held: HeldVoucher) -> dict[str, Any]:
    """The redeeming contact (the voucher's own, or the one named when it has none) after
    the shop named is checked. A contact named beside the voucher's own must be that one
    ("could serve as identity check"): another is a 1003 naming ``contact_uuid``."""
    shop_uuid = text(call.params, "shop_uuid")
    if not any(shop.uuid == shop_uuid for shop in call.store.seed.shops):
        raise invalid("shop_uuid", "The selected shop uuid is invalid.")
    named = call.params.get("contact_uuid")
    if held.contact is not None:
        if isinstance(named, str) and named != held.contact["uuid"]:
            raise invalid("contact_uuid", "The voucher belongs to another contact.")
        return held.contact
    if not isinstance(named, str):
        raise invalid("contact_uuid", "The contact uuid field is required: no contact is linked.")
    account = call.store.account(uuid=named)
    if account is None:
        raise invalid("contact_uuid", "The selected contact uuid is invalid.")
    return {"uuid": account.member.uuid, "email": account.member.email}


def _whole(value: Any, field: str, *, default: int) -> int:
    if value is None:
        return default
    try:
        return int(str(value))
    except ValueError:
        raise invalid(field, f"The {field} must be a whole number.") from None
