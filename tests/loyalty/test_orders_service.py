"""The orders backend's service against the sandbox over loopback (both keys, both APIs),
and its request bodies as pure functions: an award is one order under its key, a repeat
is AlreadyApplied and found by the key with its points, returns give back money's worth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from register_agent.config import ApiConfig
from register_agent.errors import AlreadyApplied
from register_agent.loyalty import CustomerRef, make_loyalty
from register_agent.loyalty.domain import SaleLine
from register_agent.loyalty.orders.bodies import order_body, return_body
from register_agent.loyalty.orders.models import Order
from register_agent.loyalty.orders.service import OrdersLoyaltyService
from tests.conftest import Sandbox

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30), pytest.mark.usefixtures("no_retry_waits")]

JAN = CustomerRef(key="0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10", card="A1B2C3D4")
BREAD = SaleLine("Bread", Decimal("25.00"), product="BREAD", quantity=2)


@pytest.fixture
async def service(sandbox_clean: Sandbox) -> AsyncIterator[OrdersLoyaltyService]:
    config = ApiConfig(
        version="orders",
        base_url=sandbox_clean.url,
        api_key=SecretStr(sandbox_clean.v3_key),
        personal_access_token=SecretStr("sandbox-personal-access-token"),
    )
    loyalty = make_loyalty(config)
    assert isinstance(loyalty.service, OrdersLoyaltyService)
    yield loyalty.service
    await loyalty.aclose()


def points(sandbox: Sandbox) -> list[int]:
    return [row["credits"] for row in sandbox.ledger() if row["kind"] == "points_transaction"]


async def test_an_award_is_one_order_and_a_repeat_is_found_by_its_key(
    service: OrdersLoyaltyService, sandbox_clean: Sandbox
) -> None:
    key = await service.open_pos_transaction("S-1", Decimal("25.00"))
    assert key == "T001#S-1"
    award = await service.award_credits(
        JAN,
        Decimal("25.00"),
        sale_id="S-1",
        operation_id="op-1",
        pos_transaction=key,
        lines=[BREAD],
    )
    assert (award.reception_id, award.credits, award.balance) == (key, 25, 175)
    with pytest.raises(AlreadyApplied):
        await service.award_credits(
            JAN, Decimal("25.00"), sale_id="S-1", operation_id="op-1", pos_transaction=key
        )
    (found,) = await service.find_award(JAN, amount=Decimal("25.00"), key=key)
    assert (found.reception_id, found.credits) == (key, 25)  # the simulation's points
    assert await service.find_award(JAN, amount=Decimal("25.00"), key="T001#S-never") == []
    assert points(sandbox_clean) == [25]


async def test_returns_give_back_the_moneys_share_once(
    service: OrdersLoyaltyService, sandbox_clean: Sandbox
) -> None:
    for sale in ("S-2", "S-3"):
        await service.award_credits(
            JAN, Decimal("25.00"), sale_id=sale, operation_id=sale, lines=[BREAD]
        )
    part = await service.take_back_credits(
        JAN, 5, operation_id="op-r", original="T001#S-2", amount=Decimal("5.00")
    )
    assert part.credits == -5
    with pytest.raises(AlreadyApplied):
        await service.take_back_credits(
            JAN, 5, operation_id="op-r", original="T001#S-2", amount=Decimal("5.00")
        )
    whole = await service.reverse_award("T001#S-3")
    assert whole.credits == -25
    with pytest.raises(AlreadyApplied):
        await service.reverse_award("T001#S-3")
    assert points(sandbox_clean) == [25, 25, -5, -25]


def test_the_lines_add_up_to_the_amount_paid() -> None:
    lines = [
        BREAD,
        SaleLine("Coupon", Decimal("-2.00")),
        SaleLine("Tea", Decimal("3.33"), quantity=2),
    ]
    body = order_body("K", "c", "s", Decimal("30.00"), lines)
    items = [(i["name"], i["quantity"], i["price"], i["total_amount"]) for i in body["line_items"]]
    # tea: 1.67 a cup, 0.01 off the line; the lines leave 3.67 for the rest of the sale
    assert items == [
        ("Bread", 2, 1250, 2500),
        ("Tea", 2, 167, 333),
        ("Rest of the sale", 1, 367, 367),
    ]
    assert body["line_items"][1]["discount_amount"] == 1
    assert [(d["name"], d["amount"]) for d in body["applied_discounts"]] == [("Coupon", 200)]
    assert body["total_order_amount"] == 3000
    more = order_body("K", "c", "s", Decimal("20.00"), [BREAD])["applied_discounts"]
    assert [(d["name"], d["amount"], d["applied_to"]) for d in more] == [
        ("Rest of the sale", 500, "ORDER")
    ]
    assert [i["name"] for i in order_body("K", "c", "s", Decimal("4"), [])["line_items"]] == [
        "Sale"
    ]


def test_a_part_return_takes_lines_whole_then_the_last_in_part() -> None:
    answer: dict[str, Any] = {
        "uuid": "u",
        "external_identifier": "K",
        "status": "COMPLETED",
        "payment_status": "PAID",
        "total_order_amount": 3300,
        "line_items": [
            {
                "external_identifier": "K-1",
                "name": "a",
                "quantity": 2,
                "price": 500,
                "total_amount": 1000,
            },
            {
                "external_identifier": "K-2",
                "name": "b",
                "quantity": 4,
                "price": 575,
                "total_amount": 2300,
            },
        ],
    }
    order = Order.model_validate(answer)
    body = return_body(order, "K#r", 1600)
    assert body["order"] == {"external_identifier": "K"}
    assert body["line_items"] == [
        {"external_identifier": "K-1", "quantity": 2, "total_amount": 1000},
        {"external_identifier": "K-2", "quantity": 2, "total_amount": 600},
    ]
    whole = return_body(order, "K#return", None)["line_items"]
    assert [(i["quantity"], i["total_amount"]) for i in whole] == [(2, 1000), (4, 2300)]
