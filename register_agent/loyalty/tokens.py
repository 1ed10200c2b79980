"""v3 loyalty tokens, minted on the till with no API call (the loyalty-token guide).

``s = "version=v3&shop_uuid=<S>&unique_id=<id>&timestamp=<unix>&unit_name=purchase_amount&
unit_value=<v>&secret=<secret>"``; ``hash = sha1_hex(s)``; the URL is the contacts portal's
``/l?`` followed by the same parameters without ``secret`` and with ``hash`` last.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from register_agent.loyalty.forms import shortest_decimal_text

TOKEN_VERSION = "v3"  # noqa: S105 (the token format version, not a secret)
PURCHASE_AMOUNT = "purchase_amount"


@dataclass(frozen=True)
class LoyaltyToken:
    """A minted token: what the receipt's QR code carries. The secret is not kept."""

    url: str
    shop_uuid: str
    unique_id: str
    timestamp: int
    unit_value: Decimal
    hash: str
    unit_name: str = PURCHASE_AMOUNT
    version: str = TOKEN_VERSION

    def claim_fields(self) -> dict[str, str]:
        """The fields of ``POST /loyalty-tokens`` (a customer's claim) for this token."""
        return {**_parameters(self), "hash": self.hash}


def _parameters(token: LoyaltyToken) -> dict[str, str]:
    # the guide's order; the hash depends on it
    return {
        "version": token.version,
        "shop_uuid": token.shop_uuid,
        "unique_id": token.unique_id,
        "timestamp": str(token.timestamp),
        "unit_name": token.unit_name,
        "unit_value": shortest_decimal_text(token.unit_value),
    }


def token_hash(token: LoyaltyToken, secret: str) -> str:
    """sha1 hex of the parameter string with the secret last.

    Decision: the hash covers the raw values (not URL-encoded), as the server rebuilds
    the string from the decoded query parameters; the URL then encodes each value. For
    the identifiers a till uses (letters, digits, ``-``, ``_``) both readings agree.
    """
    raw = "&".join(f"{key}={value}" for key, value in _parameters(token).items())
    return hashlib.sha1(f"{raw}&secret={secret}".encode()).hexdigest()  # noqa: S324 (the guide's scheme)


def mint_loyalty_token(
    *,
    portal_url: str,
    shop_uuid: str,
    unique_id: str,
    unit_value: Decimal,
    timestamp: int,
    secret: str,
) -> LoyaltyToken:
    """A loyalty token for a purchase of ``unit_value`` (currency units), signed locally."""
    if not unit_value.is_finite() or unit_value <= 0:
        raise ValueError("a loyalty token needs a positive purchase amount")
    if not secret:
        raise ValueError("a loyalty token needs the account's loyalty-token secret")
    unsigned = LoyaltyToken(
        url="",
        shop_uuid=shop_uuid,
        unique_id=unique_id,
        timestamp=timestamp,
        unit_value=unit_value,
        hash="",
    )
    digest = token_hash(unsigned, secret)
    query = urlencode({**_parameters(unsigned), "hash": digest})
    return LoyaltyToken(
        url=f"{portal_url.rstrip('/')}/l?{query}",
        shop_uuid=shop_uuid,
        unique_id=unique_id,
        timestamp=timestamp,
        unit_value=unit_value,
        hash=digest,
    )
