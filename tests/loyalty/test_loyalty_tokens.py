"""v3 loyalty tokens minted on the till: the loyalty-token guide's worked example, the
shortest form of the amount, and URL encoding of the values."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from register_agent.loyalty.tokens import mint_loyalty_token


def test_the_guides_worked_example() -> None:
    # Leat docs, getting-started/loyalty-tokens.mdx: the dummy data and the hash it shows
    token = mint_loyalty_token(
        portal_url="https://acme.com",
        shop_uuid="abcde-1235-hijkl-1i2k3",
        unique_id="my_unique_id",
        unit_value=Decimal("10"),
        timestamp=1646314054,
        secret="very_secret",
    )
    assert token.hash == "60585d543ff8bbd07ad9798b44241981b4e2d423"
    assert token.url == (
        "https://acme.com/l?version=v3&shop_uuid=abcde-1235-hijkl-1i2k3&unique_id=my_unique_id"
        "&timestamp=1646314054&unit_name=purchase_amount&unit_value=10"
        "&hash=60585d543ff8bbd07ad9798b44241981b4e2d423"
    )


@pytest.mark.parametrize(("amount", "text"), [("10.00", "10"), ("12.50", "12.5"), ("0.99", "0.99")])
def test_the_amount_is_in_its_shortest_form(amount: str, text: str) -> None:
    token = mint_loyalty_token(
        portal_url="https://acme.com/",
        shop_uuid="S",
        unique_id="T001-4711",
        unit_value=Decimal(amount),
        timestamp=1700000000,
        secret="very_secret",
    )
    signed = (
        f"version=v3&shop_uuid=S&unique_id=T001-4711&timestamp=1700000000"
        f"&unit_name=purchase_amount&unit_value={text}&secret=very_secret"
    )
    assert token.hash == hashlib.sha1(signed.encode()).hexdigest()  # noqa: S324
    assert dict(parse_qsl(urlsplit(token.url).query))["unit_value"] == text
    assert token.url.startswith("https://acme.com/l?version=v3&")


def test_values_are_url_encoded_and_the_hash_covers_the_raw_values() -> None:
    token = mint_loyalty_token(
        portal_url="https://acme.com",
        shop_uuid="S",
        unique_id="till 1/sale&7",
        unit_value=Decimal("5"),
        timestamp=1,
        secret="very_secret",
    )
    assert "unique_id=till+1%2Fsale%267&" in token.url
    query = dict(parse_qsl(urlsplit(token.url).query))
    assert query["unique_id"] == "till 1/sale&7"
    raw = (
        "version=v3&shop_uuid=S&unique_id=till 1/sale&7&timestamp=1"
        "&unit_name=purchase_amount&unit_value=5&secret=very_secret"
    )
    assert query["hash"] == hashlib.sha1(raw.encode()).hexdigest()  # noqa: S324
    assert "very_secret" not in token.url
    assert "very_secret" not in repr(token)


@pytest.mark.parametrize("amount", ["0", "-1", "NaN"])
def test_a_token_needs_a_positive_amount(amount: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        mint_loyalty_token(
            portal_url="https://acme.com",
            shop_uuid="S",
            unique_id="u",
            unit_value=Decimal(amount),
            timestamp=1,
            secret="s",
        )
