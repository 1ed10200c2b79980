"""The sandbox's client-API orders over real HTTP: shaped as the docs' Orders and Order
Returns pages show them, under the account's personal access token only, an external
identifier booked once, product exclusions per line, a return taking back its share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.shapes import differences, load_example

JAN = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
SHOP = "b7d4e1a0-2c3f-4d5e-8f90-1a2b3c4d5e6f"  # 1 point per euro, rounded down
TOKEN = "sandbox-personal-access-token"


@pytest.fixture
def client(sandbox_clean: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{sandbox_clean.url}/api/v3/oauth/clients",
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
        timeout=5,
    ) as http:
        yield http


def order(external: str, *lines: dict[str, Any]) -> dict[str, Any]:
    total = sum(line["total_amount"] for line in lines)
    return {
        "external_identifier": external,
        "reference": f"Receipt {external}",
        "status": "COMPLETED",
        "payment_status": "PAID",
        "total_order_amount": total,
        "paid_at": "2026-12-05T10:00:00+00:00",
        "completed_at": "2026-12-05T10:00:00+00:00",
        "contact": {"uuid": JAN},
        "business_profile": {"uuid": SHOP},
        "line_items": list(lines),
    }


def line(external: str, product: str, quantity: int, price: int, **extra: Any) -> dict[str, Any]:
    return {
        "external_identifier": external,
        "name": product.title(),
        "quantity": quantity,
        "price": price,
        "total_amount": quantity * price,
        "discount_amount": 0,
        "product": {"external_identifier": product},
        **extra,
    }


def bread_and_sauce() -> dict[str, Any]:
    sauce = line("L1-S", "SAUCE", 1, 50)
    return line("L1", "BREAD", 2, 1250, sub_line_items=[sauce])


def points_rows(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == "points_transaction"]


def test_an_order_is_answered_as_the_docs_show_it(client: httpx.Client) -> None:
    body = order("O-1", bread_and_sauce())
    body["applied_discounts"] = [
        {
            "external_identifier": "D-10",
            "name": "10% off bread",
            "amount": 250,
            "type": "PERCENTAGE",
            "value": 10,
            "applied_to": "ORDER_LINES",
            "line_items": [{"external_identifier": "L1"}],
        }
    ]
    body["charges"] = [
        {
            "external_identifier": "SRV",
            "type": "SERVICE_CHARGE",
            "name": "Service",
            "amount": 100,
            "discount_amount": 0,
            "total_amount": 100,
        }
    ]
    answer = client.post("/orders/create-and-process", json=body)
    assert answer.status_code == 200, answer.text
    documented = load_example("client-api/orders/create-and-process-order.json")
    assert differences(documented, answer.json()) == []
    found = client.get("/orders/find", params={"external_identifier": "O-1"})
    assert found.status_code == 200, found.text
    assert differences(load_example("client-api/orders/find-order.json"), found.json()) == []
    assert found.json()["data"] == answer.json()["data"]["order"]


def test_an_orders_points_come_from_its_lines_less_the_excluded_products(
    client: httpx.Client, sandbox_clean: Sandbox
) -> None:
    wrap = line("L2", "GIFT-WRAP", 1, 900)  # the seed excludes it from loyalty
    answer = client.post("/orders/create-and-process", json=order("O-2", bread_and_sauce(), wrap))
    result = answer.json()["data"]["result"]
    # 25.00 + 0.50 earn 25 points; the wrapping's 9.00 none
    assert result == {"type": "POINTS_TRANSACTION", "data": {"points": 25, "new_balance": 175}}
    (row,) = points_rows(sandbox_clean)
    assert (row["credits"], row["external_identifier"]) == (25, "O-2")
    assert row["register"] == {"id": 0, "identifier": "ACCOUNT"}
    assert TOKEN not in str(sandbox_clean.ledger())


def test_an_external_identifier_is_booked_once(
    client: httpx.Client, sandbox_clean: Sandbox
) -> None:
    first = client.post("/orders/create-and-process", json=order("O-3", bread_and_sauce()))
    assert first.status_code == 200, first.text
    again = client.post("/orders/create-and-process", json=order("O-3", bread_and_sauce()))
    assert again.status_code == 400, again.text
    assert again.json()["code"] == 1003
    assert "external_identifier" in again.json()["errors"]
    assert len(points_rows(sandbox_clean)) == 1
    missing = client.get("/orders/find", params={"external_identifier": "O-never"})
    assert missing.status_code == 404


def test_a_return_takes_back_its_share_once(client: httpx.Client, sandbox_clean: Sandbox) -> None:
    bread = line("L1", "BREAD", 2, 1000, sub_line_items=[line("L1-S", "SAUCE", 1, 0)])
    client.post("/orders/create-and-process", json=order("O-4", bread)).raise_for_status()
    body = {
        "order": {"external_identifier": "O-4"},
        "external_identifier": "RET-1",
        "status": "COMPLETED",
        "line_items": [{"external_identifier": "L1", "quantity": 1}],
        "sub_line_items": [{"external_identifier": "L1-S", "quantity": 1}],
    }
    answer = client.post("/order-returns/create-and-process", json=body)
    assert answer.status_code == 200, answer.text
    documented = load_example("client-api/order-returns/create-and-process-order-return.json")
    assert differences(documented, answer.json()) == []
    assert answer.json()["data"]["result"]["data"] == {"points": -10, "new_balance": 160}
    again = client.post("/order-returns/create-and-process", json=body)
    assert again.json()["code"] == 1003
    assert [row["credits"] for row in points_rows(sandbox_clean)] == [20, -10]


def test_each_kind_of_key_is_refused_where_the_other_belongs(sandbox_clean: Sandbox) -> None:
    with httpx.Client(base_url=sandbox_clean.url, timeout=5) as http:
        register_key = {"Authorization": f"Bearer {sandbox_clean.v3_key}"}
        refused = http.post(
            "/api/v3/oauth/clients/orders/create-and-process",
            json=order("O-5", bread_and_sauce()),
            headers=register_key,
        )
        assert refused.status_code == 401
        token = {"Authorization": f"Bearer {TOKEN}"}
        assert http.get("/api/v3/register", headers=token).status_code == 401
        assert http.get("/api/v3/register", headers=register_key).status_code == 200
    assert points_rows(sandbox_clean) == []


def test_an_order_without_its_required_fields_names_them(client: httpx.Client) -> None:
    body = order("O-6", bread_and_sauce())
    del body["business_profile"]
    answer = client.post("/orders/create-and-process", json=body)
    assert answer.status_code == 400
    assert answer.json()["code"] == 1003
    assert "business_profile" in answer.json()["errors"]


def test_a_simulation_answers_the_points_as_the_docs_show_and_books_nothing(
    client: httpx.Client, sandbox_clean: Sandbox
) -> None:
    wrap = line("L2", "GIFT-WRAP", 1, 900)
    answer = client.post("/orders/simulate", json=order("O-6", bread_and_sauce(), wrap))
    assert answer.status_code == 200, answer.text
    documented = load_example("client-api/orders/simulate-order-result.json")
    assert differences(documented, answer.json()) == []
    assert answer.json()["data"] == {"type": "points_transaction", "data": {"points": 25}}
    assert points_rows(sandbox_clean) == []


def test_a_returned_lines_total_amount_is_the_money_it_gives_back(
    client: httpx.Client, sandbox_clean: Sandbox
) -> None:
    client.post("/orders/create-and-process", json=order("O-7", line("L1", "BREAD", 2, 1000)))
    body = {
        "order": {"external_identifier": "O-7"},
        "external_identifier": "RET-7",
        "status": "COMPLETED",
        "line_items": [{"external_identifier": "L1", "quantity": 1, "total_amount": 500}],
    }
    answer = client.post("/order-returns/create-and-process", json=body)
    assert answer.status_code == 200, answer.text
    # 5.00 of the order's 20.00 gives back a quarter of its 20 points
    assert answer.json()["data"]["result"]["data"]["points"] == -5
    assert [row["credits"] for row in points_rows(sandbox_clean)] == [20, -5]
