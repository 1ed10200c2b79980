"""The local API's enrolment routes over a scripted desk (the real desk is in the
end-to-end tests): what reaches the desk, the answers' shapes, the stable error codes,
the validation of e-mail / card, and the OpenAPI page naming the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from register_agent.api import make_app
from register_agent.common.events import EventBus
from register_agent.counter.enrolment.messages import (
    ChooseCustomerRequest,
    CustomerEntry,
    CustomerList,
    HandOutAnswer,
    HandOutRequest,
)
from register_agent.counter.messages import CustomerView
from register_agent.errors import CounterRefusal
from tests.support.api_support import AUTH, TOKEN, ScriptedTill

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(20)]
NEW = CustomerView(display="new@example.org", balance=0, card_tail="F6A7")


@dataclass
class ScriptedDesk:
    """Hands out anything but Jan's card; knows one customer; lists two per page."""

    received: list[tuple[str, Any]] = field(default_factory=list)

    async def hand_out(self, request: HandOutRequest) -> HandOutAnswer:
        self.received.append(("hand_out", request))
        if request.card == "A1B2C3D4":
            raise CounterRefusal("card_taken", "card …C3D4 belongs to another", status=409)
        return HandOutAnswer(
            customer=NEW,
            customer_key="7735",
            slip="printing",
            slip_id="welcome-1",
            slip_lines=("Welcome",),
        )

    async def find(self, email: str) -> CustomerEntry:
        self.received.append(("find", email))
        if email != "jan@example.org":
            raise CounterRefusal("customer_not_found", "no customer", status=404)
        return CustomerEntry(key="7731", display=email, balance=150)

    async def list_customers(self, page: int, limit: int) -> CustomerList:
        self.received.append(("list", (page, limit)))
        entry = CustomerEntry(key="7731", display="jan@example.org", balance=None)
        return CustomerList(customers=(entry,), page=page, limit=limit, last_page=2, total=2)

    async def choose(self, request: ChooseCustomerRequest) -> CustomerView:
        self.received.append(("choose", request))
        return NEW


@pytest.fixture
async def api() -> AsyncIterator[tuple[httpx.AsyncClient, ScriptedDesk]]:
    desk = ScriptedDesk()
    app = make_app(ScriptedTill(), EventBus(), TOKEN, enrolment=desk)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://till", headers=AUTH) as c:
        yield c, desk


async def test_a_card_is_handed_out(api: tuple[httpx.AsyncClient, ScriptedDesk]) -> None:
    client, desk = api
    answer = await client.post("/v1/cards", json={"email": "new@example.org", "card": "D4E5F6A7"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["customer"]["card_tail"] == "F6A7"
    assert answer.json()["slip_id"] == "welcome-1"
    assert desk.received == [("hand_out", HandOutRequest(email="new@example.org", card="D4E5F6A7"))]
    taken = await client.post("/v1/cards", json={"email": "x@example.org", "card": "A1B2C3D4"})
    assert (taken.status_code, taken.json()["code"]) == (409, "card_taken")


async def test_an_email_is_checked_before_the_desk(
    api: tuple[httpx.AsyncClient, ScriptedDesk],
) -> None:
    client, desk = api
    answer = await client.post("/v1/cards", json={"email": "not an e-mail"})
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request")
    assert answer.json()["fields"][0]["field"] == "email"
    both = await client.post("/v1/customer", json={"email": "jan@example.org", "card": "A1"})
    assert both.status_code == 422
    assert "exactly one of email and card" in both.json()["message"]
    assert (await client.post("/v1/customer", json={})).status_code == 422
    assert desk.received == []


async def test_customers_found_by_email_or_listed(
    api: tuple[httpx.AsyncClient, ScriptedDesk],
) -> None:
    client, desk = api
    found = await client.get("/v1/customers", params={"email": "jan@example.org"})
    assert found.json() == {
        "customers": [{"key": "7731", "display": "jan@example.org", "balance": 150}],
        "page": 1,
        "limit": 1,
        "last_page": 1,
        "total": 1,
    }
    missing = await client.get("/v1/customers", params={"email": "no@example.org"})
    assert (missing.status_code, missing.json()["code"]) == (404, "customer_not_found")
    listed = await client.get("/v1/customers", params={"page": 2, "limit": 1})
    assert (listed.json()["page"], listed.json()["last_page"]) == (2, 2)
    assert (await client.get("/v1/customers", params={"limit": 101})).status_code == 422
    assert (await client.get("/v1/customers")).status_code == 200
    assert desk.received[-1] == ("list", (1, 25))


async def test_a_customer_is_chosen(api: tuple[httpx.AsyncClient, ScriptedDesk]) -> None:
    client, desk = api
    chosen = await client.post("/v1/customer", json={"card": "A1B2C3D4"})
    assert chosen.json()["display"] == "new@example.org"
    assert desk.received == [("choose", ChooseCustomerRequest(card="A1B2C3D4"))]


async def test_the_routes_are_documented(api: tuple[httpx.AsyncClient, ScriptedDesk]) -> None:
    client, _ = api
    document = (await client.get("/openapi.json")).json()
    assert {"/v1/cards", "/v1/customers", "/v1/customer"} <= set(document["paths"])
    assert "post" in document["paths"]["/v1/customer"]
    description = document["info"]["description"]
    for code in ("card_taken", "customer_not_found", "customer_list_unsupported", "no_card"):
        assert f"`{code}`" in description
