"""The local API over real loopback HTTP (uvicorn in the test's event loop, httpx clients)
with a scripted till: the token, every endpoint's answer, the error shapes and the OpenAPI
document. The listener itself is in test_api_server.py.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, cast

import pytest

from register_agent.api import make_app
from register_agent.common.events import EventBus
from register_agent.counter.messages import SaleRequest
from register_agent.errors import ConfigError
from tests.support.api_support import JAN, TOKEN, Api, ScriptedTill, running_api

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(20)]

SALE = {
    "sale_id": "2026-11-26/0042",
    "amount": "12.50",
    "lines": [{"text": "Cappuccino", "amount": "3.50"}, {"text": "Croissant", "amount": "9.00"}],
}


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with running_api() as running:
        yield running


# --- the token ---------------------------------------------------------------------------


async def test_a_request_without_the_token_is_refused_before_the_till_sees_it(api: Api) -> None:
    answer = await api.anonymous.post("/v1/sales", json=SALE)
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert "Authorization: Bearer" in answer.json()["message"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    # not even parsed: a broken body without the token is a 401, not a 422
    broken = await api.anonymous.post("/v1/sales", content=b"{not json")
    assert broken.status_code == 401
    assert api.till.received == []


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer", f"Basic {TOKEN}", TOKEN, "Bearer é"],
)
async def test_a_wrong_token_is_refused(api: Api, authorization: str) -> None:
    headers = {"Authorization": authorization.encode()}  # bytes: "é" goes as UTF-8
    for method, path in [("GET", "/v1/status"), ("GET", "/v1/events"), ("GET", "/nowhere")]:
        answer = await api.anonymous.request(method, path, headers=headers)  # type: ignore[arg-type]
        assert answer.status_code == 401, (method, path)
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="register-agent"')
        assert TOKEN not in answer.text
    assert api.till.received == []


async def test_the_token_is_compared_in_constant_time(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def watched(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", watched)  # the module auth.py calls
    assert (await api.client.get("/v1/status")).status_code == 200
    assert (
        await api.anonymous.get("/v1/status", headers={"Authorization": "Bearer no"})
    ).status_code == 401
    assert compared == [(TOKEN.encode(), TOKEN.encode()), (b"no", TOKEN.encode())]


async def test_an_empty_token_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match=r"local_api\.token"):
        make_app(ScriptedTill(), EventBus(), "  ")


# --- the endpoints -----------------------------------------------------------------------


async def test_a_sale_reaches_the_till_as_decimals_and_its_answer_comes_back(api: Api) -> None:
    answer = await api.client.post("/v1/sales", json=SALE)
    assert answer.status_code == 200
    assert answer.json() == {
        "sale_id": "2026-11-26/0042",
        "loyalty": {
            "state": "credited",
            "lines": ["You earned 12 credits"],
            "qr_url": None,
            "credits": 12,
            "balance": 162,
            "customer": None,
            "customer_lines": [],
            "notice": None,
        },
        "receipt": "printing",
        "drawer": None,  # the sale did not ask for the drawer
    }
    call, request = api.till.received[0]
    assert call == "sell"
    assert isinstance(request, SaleRequest)
    assert request.amount == Decimal("12.50")
    assert [line.amount for line in request.lines] == [Decimal("3.50"), Decimal("9.00")]


async def test_the_same_sale_again_gets_the_first_answer_and_another_body_a_409(api: Api) -> None:
    first = await api.client.post("/v1/sales", json=SALE)
    again = await api.client.post("/v1/sales", json=SALE)
    assert again.json() == first.json()
    conflict = await api.client.post("/v1/sales", json={**SALE, "amount": "13.00"})
    assert conflict.status_code == 409
    assert conflict.json() == {
        "code": "sale_conflict",
        "message": "sale 2026-11-26/0042 was already recorded",
    }


async def test_refund_void_and_reprint_take_sale_ids_with_slashes(api: Api) -> None:
    await api.client.post("/v1/sales", json=SALE)
    base = "/v1/sales/2026-11-26/0042"
    whole = await api.client.post(f"{base}/refund")
    part = await api.client.post(f"{base}/refund", json={"amount": "5.00"})
    void = await api.client.post(f"{base}/void")
    reprint = await api.client.post(f"{base}/reprint")
    for answer, action in [
        (whole, "refund"),
        (part, "refund"),
        (void, "void"),
        (reprint, "reprint"),
    ]:
        assert answer.status_code == 200
        assert answer.json()["sale_id"] == "2026-11-26/0042"
        assert answer.json()["action"] == action
    refunds = [argument for call, argument in api.till.received if call == "refund"]
    assert [request.amount for _, request in refunds] == [None, Decimal("5.00")]


async def test_an_unknown_sale_is_a_404_with_the_tills_code(api: Api) -> None:
    for action in ("refund", "void", "reprint"):
        answer = await api.client.post(f"/v1/sales/nope/{action}")
        assert answer.status_code == 404
        assert answer.json() == {"code": "unknown_sale", "message": "no sale nope on this till"}


async def test_the_current_customer_is_shown_then_cleared(api: Api) -> None:
    nobody = await api.client.get("/v1/customer")
    assert nobody.status_code == 204
    assert nobody.content == b""
    api.till.customer = JAN
    jan = await api.client.get("/v1/customer")
    assert jan.status_code == 200
    assert jan.json() == {
        "display": "Jan",
        "balance": 150,
        "card_tail": "C3D4",
        "rewards": [
            {
                "key": "coffee",
                "title": "Free coffee",
                "required_credits": 100,
                "claimable": True,
                "external_property": None,
                "media_url": None,
                "pre_redeemable": False,
            }
        ],
        "attributes": {"firstname": "Jan", "tier": "Gold"},
    }
    cleared = await api.client.delete("/v1/customer")
    assert cleared.status_code == 204
    assert api.till.customer is None
    assert (await api.client.get("/v1/customer")).status_code == 204


async def test_a_customers_collectable_rewards_and_a_sale_that_collects_one(api: Api) -> None:
    answer = await api.client.get(
        "/v1/customer/collectable-rewards", params={"customer_card": "A1B2C3D4"}
    )
    assert answer.status_code == 200, answer.text
    assert [(c["uuid"], c["title"]) for c in answer.json()] == [("c-1", "Birthday cake")]
    assert api.till.received[-1] == ("collectable_rewards", (None, "A1B2C3D4"))
    sale = {"sale_id": "S-9", "amount": "4.00", "collect": ["c-1"]}
    assert (await api.client.post("/v1/sales", json=sale)).status_code == 200
    assert api.till.sales["S-9"].collect == ("c-1",)
    too_many = {**sale, "sale_id": "S-10", "collect": [f"c-{i}" for i in range(21)]}
    assert (await api.client.post("/v1/sales", json=too_many)).status_code == 422


async def test_a_reward_claim_and_an_offline_refusal(api: Api) -> None:
    claim = {"claim_id": "c-1", "reward_key": "coffee", "customer_card": "A1B2C3D4"}
    answer = await api.client.post("/v1/rewards/claims", json=claim)
    assert answer.status_code == 200
    assert answer.json() == {
        "claim_id": "c-1",
        "title": "Free coffee",
        "credits": -100,
        "balance": 50,
        "external_property": None,
        "code": None,
        "slip_id": None,
        "collectable_id": None,
    }
    api.till.offline = True
    refused = await api.client.post("/v1/rewards/claims", json=claim)
    assert refused.status_code == 503
    assert refused.json() == {"code": "offline", "message": "rewards can only be claimed online"}


async def test_the_status_of_the_till(api: Api) -> None:
    answer = await api.client.get("/v1/status")
    assert answer.status_code == 200
    assert answer.json() == {
        "register_api": "reachable",
        "outbox_pending": 2,
        "outbox_oldest_age_s": 3.5,
        "outbox_review": 0,
        "outbox_dead": 1,
        "claims_unconfirmed": 0,
        "claims_review": 0,
        "alerts": [],
        "printer": "ok",
        "readers": ["front: ok"],
        "journal": "ok",
        "passthrough": None,  # the receipt pass-through is off
    }


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({**SALE, "amount": 12.5}, "amount", 'send the amount as a decimal string, e.g. "12.50"'),
        ({"amount": "12.50"}, "sale_id", "is required"),
        ({**SALE, "amount": "12.505"}, "amount", "at most two decimals"),
        ({**SALE, "amount": 12}, "amount", "a decimal string"),
        *(
            ({**SALE, "amount": spelt}, "amount", "at most two decimals")
            for spelt in ("1e3", "\u0661\u0662", "1_000", "+5", " 12.50", "-1.00", "12,50")
        ),
        ({**SALE, "amount": "21474836.48"}, "amount", "more than the Register API can hold"),
        ({**SALE, "lines": [{"text": "x", "amount": "1e1"}]}, "lines[0].amount", "e.g."),
        ({**SALE, "lines": [{"amount": "1.00"}]}, "lines[0].text", "is required"),
        ({**SALE, "tip": "1.00"}, "tip", "is not a field of this request"),
    ],
)
async def test_an_invalid_sale_is_a_422_naming_the_field(
    api: Api, body: dict[str, Any], field: str, problem: str
) -> None:
    answer = await api.client.post("/v1/sales", json=body)
    assert answer.status_code == 422
    error = answer.json()
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(f"{field}: ")
    assert problem in error["message"]
    assert [entry["field"] for entry in error["fields"]] == [field]
    assert api.till.received == []


async def test_a_422_never_echoes_what_was_sent(api: Api) -> None:
    card = "SECRETCARD" * 10  # too long: refused, and never repeated back
    answer = await api.client.post("/v1/sales", json={**SALE, "customer_card": card})
    assert answer.status_code == 422
    assert "customer_card" in answer.json()["message"]
    assert "SECRETCARD" not in answer.text
    json_type = {"Content-Type": "application/json"}
    broken = b'{"sale_id": "x", SECRETCARD'
    answer = await api.client.post("/v1/sales", content=broken, headers=json_type)
    assert answer.status_code == 422
    assert answer.json()["message"].startswith("body: is not valid JSON (near character 17)")
    assert "SECRETCARD" not in answer.text
    untyped = await api.client.post("/v1/sales", content=b"sale_id=SECRETCARD")
    assert untyped.json()["message"] == (
        "body: send a JSON object, with Content-Type: application/json"
    )
    assert "SECRETCARD" not in untyped.text


async def test_an_unexpected_failure_is_a_neutral_500_and_logged_once(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    api.till.failure = RuntimeError("disk says no at /var/lib/secret-place")
    with caplog.at_level(logging.ERROR):
        answer = await api.client.get("/v1/status")
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal_error"
    assert "secret-place" not in answer.text
    failures = [r for r in caplog.records if r.exc_info and "secret-place" in str(r.exc_info[1])]
    assert len(failures) == 1
    assert "GET /v1/status" in failures[0].getMessage()
    api.till.failure = None  # and the API goes on serving
    assert (await api.client.get("/v1/status")).status_code == 200


async def test_unknown_addresses_and_methods_answer_json(api: Api) -> None:
    missing = await api.client.get("/v2/sales")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong_method = await api.client.put("/v1/status")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


# --- the documentation -------------------------------------------------------------------


async def test_the_openapi_document_lists_every_endpoint_without_the_token(api: Api) -> None:
    document = (await api.anonymous.get("/openapi.json")).json()
    operations = {
        (method.upper(), path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert set(operations) == {
        ("POST", "/v1/sales"),
        ("POST", "/v1/drawer"),
        ("POST", "/v1/sales/{sale_id}/refund"),
        ("POST", "/v1/sales/{sale_id}/void"),
        ("POST", "/v1/sales/{sale_id}/reprint"),
        ("GET", "/v1/customer"),
        ("DELETE", "/v1/customer"),
        ("POST", "/v1/rewards/claims"),
        ("GET", "/v1/customer/collectable-rewards"),
        ("GET", "/v1/status"),
        ("GET", "/v1/events"),
        ("POST", "/v1/counter/session"),
        ("GET", "/v1/counter/session"),
        ("DELETE", "/v1/counter/session"),
        ("POST", "/v1/stream-tickets"),
    }
    for key, operation in operations.items():
        assert operation["summary"], key
        assert len(operation["description"]) > 80, key
        assert "401" in operation["responses"], key
        assert operation["security"] == [{"HTTPBearer": []}], key
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "sale_conflict" in document["info"]["description"]
    schemas = document["components"]["schemas"]
    # money is documented as the decimal string the API takes, never as a number
    assert schemas["SaleRequest"]["properties"]["amount"]["type"] == "string"
    assert schemas["SaleLineIn"]["properties"]["amount"]["anyOf"][0]["type"] == "string"
    assert "'number'" not in str(schemas["RefundRequest"])
    # the pattern and bounds the till holds the POS to, and the answers when it does not
    amount = schemas["SaleRequest"]["properties"]["amount"]
    assert amount["pattern"] == r"^[0-9]+(\.[0-9]{1,2})?$"
    assert "from 0 to 21474836.47" in amount["description"]
    assert "JSON number is refused" in amount["description"]
    assert "refund_id" in schemas["RefundRequest"]["properties"]
    sell = operations[("POST", "/v1/sales")]["responses"]
    assert {"400", "409", "422"} <= set(sell)
    assert "amount_too_large" in sell["422"]["description"]
    refund = operations[("POST", "/v1/sales/{sale_id}/refund")]["responses"]
    assert "refund_id_required" in refund["422"]["description"]
    for code in ("amount_too_large", "refund_id_required", "refund_conflict", "bad_request"):
        assert f"`{code}`" in document["info"]["description"], code
    page = await api.anonymous.get("/docs")
    assert page.status_code == 200
    assert "swagger" in page.text.lower()


def test_every_counter_action_is_documented_with_its_codes() -> None:
    """The whole till's API (every desk wired, as agent.py does): each operation has a
    summary, a real description, the token and its error statuses; each stable code a
    desk answers is in the page's error table (the POS developer reads them there)."""
    desk = cast(Any, object())  # never called: only the routes' documentation is read
    app = make_app(ScriptedTill(), EventBus(), TOKEN, giftcards=desk, profile=desk, enrolment=desk)
    document = app.openapi()
    operations = {
        (method.upper(), path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert {
        ("POST", "/v1/cards"),
        ("GET", "/v1/customers"),
        ("POST", "/v1/customer"),
        ("PUT", "/v1/customer/newsletter"),
        ("PUT", "/v1/customer/attributes"),
        ("GET", "/v1/giftcards/{card}"),
        ("POST", "/v1/giftcards/payments"),
        ("POST", "/v1/giftcards/top-ups"),
        ("POST", "/v1/giftcards/payments/{payment_id}/correct"),
    } <= set(operations)
    for key, operation in operations.items():
        assert operation["summary"], key
        assert len(operation.get("description", "")) > 80, key
        assert "401" in operation["responses"], key
        assert operation["security"] == [{"HTTPBearer": []}], key
    table = document["info"]["description"]
    for code in (
        "card_taken",
        "customer_not_found",
        "newsletter_not_configured",
        "profile_unsupported",
        "giftcard_insufficient",
        "giftcard_conflict",
        "giftcard_not_last",
        "giftcard_offline",
        "giftcard_check_card",
    ):
        assert f"`{code}`" in table, code


async def test_the_documentation_page_works_without_internet(api: Api) -> None:
    page = (await api.anonymous.get("/docs")).text
    assert "cdn" not in page.lower()
    assets = re.findall(r"""(?:src|href)=["']?(/docs/assets/[\w.-]+)""", page)
    names = {asset.rsplit("/", 1)[1] for asset in assets}
    assert names >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for asset in assets:
        served = await api.anonymous.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1000, asset
    # Swagger UI 5 (not 4) reads the OpenAPI 3.1 document FastAPI writes
    script = (await api.anonymous.get("/docs/assets/swagger-ui-bundle.js")).text
    assert re.search(r'"5\.\d+\.\d+"', script)
    # only the assets are open: a path climbing out of them reaches nothing else
    climb = await api.anonymous.get("/docs/assets/%2e%2e/%2e%2e/v1/status")
    assert climb.status_code == 404
    assert "outbox_pending" not in climb.text
