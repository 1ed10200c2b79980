"""The client-API connection (``loyalty.client_http``) against the sandbox over loopback:
an order created and found under the account's personal access token, each key refused
where the other belongs, a taken external identifier refused, and the token required."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr, TypeAdapter

from register_agent.errors import ConfigError, CredentialsRejected, RequestRejected
from register_agent.loyalty.client_http import ClientApiHttp, encode_json
from register_agent.loyalty.http import parse_with
from register_agent.loyalty.orders.models import Order, ProcessedOrder
from tests.conftest import Sandbox
from tests.support.loyalty_support import api_config

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30), pytest.mark.usefixtures("no_retry_waits")]

TOKEN = "sandbox-personal-access-token"
JAN = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
SHOP = "b7d4e1a0-2c3f-4d5e-8f90-1a2b3c4d5e6f"
PROCESSED = parse_with(TypeAdapter(ProcessedOrder))
FOUND = parse_with(TypeAdapter(Order))


def order(external: str) -> dict[str, Any]:
    line = {
        "external_identifier": f"{external}-1",
        "name": "Bread",
        "quantity": 2,
        "price": 1250,
        "total_amount": 2500,
        "product": {"external_identifier": "BREAD"},
    }
    return {
        "external_identifier": external,
        "status": "COMPLETED",
        "payment_status": "PAID",
        "total_order_amount": 2500,
        "contact": {"uuid": JAN},
        "business_profile": {"uuid": SHOP},
        "line_items": [line],
    }


@pytest.fixture
async def client(sandbox_clean: Sandbox) -> AsyncIterator[ClientApiHttp]:
    http = ClientApiHttp(
        api_config(base_url=sandbox_clean.url, personal_access_token=SecretStr(TOKEN))
    )
    yield http
    await http.aclose()


async def test_an_order_is_created_and_found_by_its_external_identifier(
    client: ClientApiHttp, sandbox_clean: Sandbox
) -> None:
    made = await client.post("/orders/create-and-process", PROCESSED, json=order("T1-S1"))
    assert made.result is not None
    assert made.result.points is not None
    assert made.result.points.points > 0
    found = await client.get("/orders/find", FOUND, params={"external_identifier": "T1-S1"})
    assert found.uuid == made.order.uuid
    booked = [row for row in sandbox_clean.ledger() if row.get("external_identifier") == "T1-S1"]
    assert len(booked) == 1


async def test_a_taken_external_identifier_is_refused_with_the_field_named(
    client: ClientApiHttp, sandbox_clean: Sandbox
) -> None:
    await client.post("/orders/create-and-process", PROCESSED, json=order("T1-S2"))
    with pytest.raises(RequestRejected) as refused:
        await client.post("/orders/create-and-process", PROCESSED, json=order("T1-S2"))
    assert refused.value.code == 1003
    assert "external_identifier" in (refused.value.field_errors or {})
    booked = [row for row in sandbox_clean.ledger() if row.get("external_identifier") == "T1-S2"]
    assert len(booked) == 1


async def test_a_register_key_is_refused_on_the_client_api(sandbox_clean: Sandbox) -> None:
    http = ClientApiHttp(
        api_config(
            base_url=sandbox_clean.url, personal_access_token=SecretStr(sandbox_clean.v3_key)
        )
    )
    try:
        with pytest.raises(CredentialsRejected) as refused:
            await http.post("/orders/create-and-process", PROCESSED, json=order("T1-S3"))
    finally:
        await http.aclose()
    assert "personal-access-token" in str(refused.value)
    assert sandbox_clean.v3_key not in str(refused.value)
    assert sandbox_clean.ledger() == []


def test_without_a_token_the_client_is_not_built_and_the_message_says_how() -> None:
    with pytest.raises(ConfigError, match="credential personal-access-token"):
        ClientApiHttp(api_config())


def test_bodies_are_json_with_exact_numbers_and_no_floats() -> None:
    assert encode_json({"q": Decimal("2"), "r": Decimal("0.125"), "c": 1250}) == (
        b'{"q":2,"r":0.125,"c":1250}'
    )
    with pytest.raises(TypeError, match="floats"):
        encode_json({"amount": [{"x": 12.5}]})
