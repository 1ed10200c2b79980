"""Loyalty tokens (v3 receipts without a card): the SHA-1 check and the single claim.

A till mints a token offline; the hash covers the token's fields as the strings sent, in
the loyalty-token guide's order, then ``secret=<account secret>`` (docs/register-api.md,
"The loyalty-token QR").
Both ``POST /api/v3/register/loyalty-tokens`` and ``POST /_sandbox/claim`` land here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from register_agent.sandbox.params import ApiError, Fields, invalid, present
from register_agent.sandbox.records import Account, Transaction
from register_agent.sandbox.seed import Register
from register_agent.sandbox.state import Store, credits_for

TOKEN_FIELDS = (
    "version",
    "shop_uuid",
    "unique_id",
    "timestamp",
    "unit_name",
    "unit_value",
    "credits",
)


def token_string(params: Mapping[str, Any], secret: str) -> str:
    """The string whose SHA-1 is the token's hash (fields as sent, secret last)."""
    values = present(dict(params))
    shop_key = "shop_uuid" if "shop_uuid" in values else "shop_id"
    keys = ["version", shop_key, "unique_id", "timestamp"]
    keys += ["credits"] if "credits" in values else ["unit_name", "unit_value"]
    pairs = [f"{key}={values.get(key, '')}" for key in keys]
    return "&".join([*pairs, f"secret={secret}"])


def token_hash(params: Mapping[str, Any], secret: str) -> str:
    return hashlib.sha1(token_string(params, secret).encode(), usedforsecurity=False).hexdigest()


def claim(
    store: Store,
    params: Mapping[str, Any],
    account: Account,
    api: str,
    register: Register | None = None,
) -> Transaction:
    """Verify a token and credit ``account`` once; a second claim of its ``unique_id`` is 1034.

    ``register`` is the till that claimed it; a customer's claim in the portal has none and
    is booked on the token shop's first register.
    """
    f = Fields(dict(params), [*TOKEN_FIELDS, "shop_id", "hash", "contact_uuid"])
    version = f.text("version", required=True)
    unique_id = f.text("unique_id", required=True)
    f.integer("timestamp", required=True)
    sent_hash = f.text("hash", required=True)
    shop_uuid = f.text("shop_uuid")
    shop_id = f.integer("shop_id")  # the SDK's legacy spelling
    f.require("shop_uuid", unless="shop_id")
    credits = f.integer("credits")
    unit_value = f.decimal("unit_value")
    unit_name = f.text("unit_name")
    if version not in (None, "v1", "v2", "v3"):
        f.fail("version", "The selected version is invalid.")
    f.done()
    if version == "v1" and (credits is None or unit_value is not None):
        raise ApiError(60018, "Submit credits when using loyalty token version v1.")
    if version == "v2" and (unit_value is None or credits is not None):
        raise ApiError(60019, "Submit units when using loyalty token version v2.")
    _units_or_credits(credits, unit_name, unit_value)
    shop = next((s for s in store.seed.shops if shop_uuid in (s.uuid,) or s.id == shop_id), None)
    if shop is None:
        raise ApiError(1008, "Shop not found.")
    expected = token_hash(params, store.seed.loyalty_token_secret)
    if not hmac.compare_digest(expected, (sent_hash or "").lower()):
        raise invalid("hash", "The hash does not match the token.")
    if (shop.uuid, unique_id or "") in store.claimed_tokens:
        raise ApiError(1034, "This loyalty token is already redeemed.")
    register = register or next(r for r in store.seed.registers if r.shop_id == shop.id)
    if credits is None:
        credits = credits_for(shop, unit_value or 0)
    txn = store.credit(
        register, api, credits, account=account, amount=unit_value, unit_name=unit_name
    )
    store.claimed_tokens.add((shop.uuid, unique_id or ""))
    store.ledger.transaction("token_claim", txn, unique_id=unique_id, token_shop_uuid=shop.uuid)
    return txn


def _units_or_credits(credits: int | None, unit_name: str | None, unit_value: object) -> None:
    if credits is not None and (unit_value is not None or unit_name is not None):
        raise invalid("credits", "Send credits or unit_name and unit_value, not both.")
    if credits is None and unit_value is None:
        raise invalid("unit_value", "The unit value field is required when credits is not present.")
    if unit_value is not None and unit_name != "purchase_amount":
        if unit_name is None:
            raise invalid("unit_name", "The unit name field is required with unit_value.")
        raise ApiError(60007, "Unit not found.")
