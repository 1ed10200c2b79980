"""The Register API transport: request building, the envelope, and every outcome of the
failure table (docs/architecture.md), with the inline retries it allows and forbids."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from register_agent.errors import (
    ConfigError,
    CredentialsRejected,
    LoyaltyApiError,
    NotApplied,
    OutcomeUnknown,
    RequestRejected,
)
from register_agent.loyalty.forms import FormValue
from register_agent.loyalty.http import RegisterHttp, parse_with
from register_agent.loyalty.outcomes import Envelope, retry_after_seconds
from register_agent.loyalty.retries import Deadline
from tests.support.loyalty_support import (
    API_KEY,
    Script,
    Sleeps,
    api_config,
    api_error,
    form_of,
    ok,
)

pytestmark = pytest.mark.anyio

REG = "/api/v3/register"


@pytest.fixture
def script() -> Script:
    return Script("v3")


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def http(script: Script, sleeps: Sleeps) -> AsyncIterator[RegisterHttp]:
    client = RegisterHttp(
        api_config("v3", partner_id="P-42"), transport=script.transport(), sleep=sleeps
    )
    yield client
    await client.aclose()


def raw(envelope: Envelope) -> Any:
    return envelope.data


def plenty() -> Deadline:
    return Deadline.after(30)


# --- request building ---------------------------------------------------------------


async def test_a_post_sends_a_php_style_form_with_the_headers(
    http: RegisterHttp, script: Script
) -> None:
    script.on("POST", "/credit-receptions", ok({"uuid": "x"}))
    form: dict[str, FormValue] = {
        "contact_uuid": "c-1",
        "unit_value": Decimal("12.50"),
        "credits": None,
        "attributes": {"agent_operation_id": "op 1", "flags": [True, False]},
    }
    await http.post("/credit-receptions", raw, form=form)
    (request,) = script.requests
    assert request.method == "POST"
    assert request.url == httpx.URL("https://api.test/api/v3/register/credit-receptions")
    assert request.content == (
        b"contact_uuid=c-1&unit_value=12.50&attributes%5Bagent_operation_id%5D=op+1"
        b"&attributes%5Bflags%5D%5B0%5D=1&attributes%5Bflags%5D%5B1%5D=0"
    )
    assert form_of(request)["unit_value"] == "12.50"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["X-Partner-ID"] == "P-42"
    assert request.headers["User-Agent"].startswith("register-agent/")


async def test_a_get_puts_its_parameters_in_the_query(http: RegisterHttp, script: Script) -> None:
    script.on("GET", "/contact-identifiers/find", ok({"value": "A1"}))
    data = await http.get(
        "/contact-identifiers/find", raw, params={"contact_identifier_value": "A 1&", "page": None}
    )
    assert data == {"value": "A1"}
    (request,) = script.requests
    assert request.url.query == b"contact_identifier_value=A+1%26"
    assert request.content == b""


async def test_the_register_info_path_has_no_trailing_slash(
    http: RegisterHttp, script: Script
) -> None:
    script.on("GET", "", ok({"name": "Till 1"}))
    await http.get("", raw)
    assert script.requests[0].url.path == REG


async def test_no_partner_header_unless_configured() -> None:
    script = Script("v1").on("GET", "", ok({}))
    client = RegisterHttp(api_config("v1"), transport=script.transport())
    await client.get("", raw)
    await client.aclose()
    assert "X-Partner-ID" not in script.requests[0].headers
    assert script.requests[0].url.path == "/api/v1/register"


def test_floats_never_reach_the_form() -> None:
    from register_agent.loyalty.forms import encode_form, shortest_decimal_text  # noqa: PLC0415

    with pytest.raises(TypeError, match="Decimal"):
        encode_form({"purchase_amount": 12.5})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="finite"):
        encode_form({"purchase_amount": Decimal("NaN")})
    assert encode_form({"a": Decimal("1E+1")}) == b"a=10"
    assert [shortest_decimal_text(Decimal(v)) for v in ("12.50", "10.00", "0.10", "7")] == [
        "12.5",
        "10",
        "0.1",
        "7",
    ]


def test_a_missing_api_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"api\.api_key"):
        RegisterHttp(api_config("v3", api_key=None))


async def test_the_repr_never_shows_the_key(http: RegisterHttp) -> None:
    assert API_KEY not in repr(http)
    assert API_KEY not in repr(vars(http))


# --- the envelope ---------------------------------------------------------------------


@pytest.mark.parametrize("meta", [{}, [], None, {"page": 1}])
async def test_meta_may_be_an_object_an_empty_array_or_absent(
    http: RegisterHttp, script: Script, meta: Any
) -> None:
    body: dict[str, Any] = {"data": {"balance": 5}}
    if meta is not None:
        body["meta"] = meta
    script.on("GET", "/x", httpx.Response(200, json=body))
    envelope = await http.get("/x", lambda e: e)
    assert envelope.data == {"balance": 5}
    assert envelope.meta == (meta if isinstance(meta, dict) else {})


async def test_amounts_arrive_as_exact_decimals(http: RegisterHttp, script: Script) -> None:
    script.on(
        "GET", "/x", httpx.Response(200, content=b'{"data": {"unit_value": 0.1}, "meta": []}')
    )
    data = await http.get("/x", raw)
    assert data["unit_value"] == Decimal("0.1")


@pytest.mark.parametrize(
    "body",
    [b"<html>captive portal</html>", b'{"meta": {}}', b"[1, 2]", b""],
    ids=["html", "no-data", "array", "empty"],
)
async def test_a_malformed_answer_to_a_post_may_have_applied(
    http: RegisterHttp, script: Script, body: bytes
) -> None:
    script.on("POST", "/credit-receptions", httpx.Response(200, content=body))
    with pytest.raises(OutcomeUnknown, match="reconcile"):
        await http.post("/credit-receptions", raw, form={"a": "1"})
    assert len(script.requests) == 1  # never repeated


async def test_a_malformed_answer_to_a_get_is_not_applied(
    http: RegisterHttp, script: Script
) -> None:
    script.on("GET", "/x", httpx.Response(200, content=b"<html/>"))
    with pytest.raises(NotApplied):
        await http.get("/x", raw, deadline=plenty())


async def test_an_answer_missing_model_fields_counts_as_malformed(
    http: RegisterHttp, script: Script
) -> None:
    from register_agent.loyalty.v3.models import PosTransaction  # noqa: PLC0415

    script.on("POST", "/pos-transactions", ok({"uuid": "not-a-uuid"}))
    with pytest.raises(OutcomeUnknown, match="uuid"):
        await http.post("/pos-transactions", parse_with(TypeAdapter(PosTransaction)), form={})
    assert len(script.requests) == 1


# --- errors: parsed by code ----------------------------------------------------------


async def test_a_400_with_a_code_is_rejected_with_field_errors(
    http: RegisterHttp, script: Script
) -> None:
    errors = {"purchase_amount": ["The purchase amount field is required."], "card": "Bad card."}
    script.on("POST", "/credit-receptions", api_error(1003, "Invalid input.", errors=errors))
    with pytest.raises(RequestRejected) as caught:
        await http.post("/credit-receptions", raw, form={})
    assert caught.value.code == 1003
    assert caught.value.status == 400
    assert caught.value.field_errors == {
        "purchase_amount": ["The purchase amount field is required."],
        "card": ["Bad card."],  # a bare string becomes a one-item list
    }
    assert len(script.requests) == 1


async def test_codes_are_read_never_messages(http: RegisterHttp, script: Script) -> None:
    script.on(
        "POST", "/reward-receptions", api_error(1017, "Onvoldoende punten | Insufficient credits.")
    )
    with pytest.raises(RequestRejected, match="too few credits") as caught:
        await http.post("/reward-receptions", raw, form={}, deadline=plenty())
    assert caught.value.code == 1017
    assert len(script.requests) == 1  # a 4xx is never retried


async def test_a_code_sent_as_text_is_still_a_code(http: RegisterHttp, script: Script) -> None:
    script.on(
        "POST", "/x", httpx.Response(400, json={"status_code": 400, "code": "1018", "message": "m"})
    )
    with pytest.raises(RequestRejected) as caught:
        await http.post("/x", raw, form={})
    assert caught.value.code == 1018


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_key_is_credentials_rejected(
    http: RegisterHttp, script: Script, status: int
) -> None:
    script.on("GET", "/x", api_error(7011, "Unauthenticated.", status=status))
    with pytest.raises(CredentialsRejected, match="api-key") as caught:
        await http.get("/x", raw, deadline=plenty())
    assert caught.value.status == status
    assert API_KEY not in str(caught.value)
    assert len(script.requests) == 1


async def test_an_unknown_route_is_a_final_rejection_naming_the_config(
    http: RegisterHttp, script: Script
) -> None:
    with pytest.raises(RequestRejected, match=r"api\.base_url") as caught:
        await http.post("/no-such-route", raw, form={})
    assert caught.value.status == 404
    assert caught.value.code is None


async def test_60001_may_have_applied_and_is_never_retried(
    http: RegisterHttp, script: Script
) -> None:
    script.on(
        "POST", "/credit-receptions", api_error(60001, "Credit reception creating in progress")
    )
    with pytest.raises(OutcomeUnknown) as caught:
        await http.post("/credit-receptions", raw, form={}, deadline=plenty())
    assert caught.value.code == 60001
    assert len(script.requests) == 1


async def test_error_messages_never_carry_the_key_or_the_query(
    http: RegisterHttp, script: Script
) -> None:
    card = "CARD-SECRET-VALUE-123"
    script.on("GET", "/contact-identifiers/find", httpx.Response(500, text=f"oops {API_KEY}"))
    with pytest.raises(LoyaltyApiError) as caught:
        await http.get("/contact-identifiers/find", raw, params={"contact_identifier_value": card})
    text = str(caught.value)
    assert "/contact-identifiers/find" in text
    assert card not in text
    assert API_KEY not in text
    assert API_KEY not in repr(caught.value)


# --- retries allowed and forbidden -----------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_post_answered_with_5xx_may_have_applied_and_is_not_retried(
    http: RegisterHttp, script: Script, status: int
) -> None:
    script.on("POST", "/credit-receptions", httpx.Response(status))
    with pytest.raises(OutcomeUnknown) as caught:
        await http.post("/credit-receptions", raw, form={}, deadline=plenty())
    assert caught.value.status == status
    assert len(script.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_get_is_retried_on_5xx_and_succeeds(
    http: RegisterHttp, script: Script, sleeps: Sleeps, status: int
) -> None:
    script.on("GET", "/x", httpx.Response(status), httpx.Response(status), ok({"n": 1}))
    assert await http.get("/x", raw, deadline=plenty()) == {"n": 1}
    assert len(script.requests) == 3
    assert len(sleeps.waits) == 2
    assert all(0 <= wait <= 1.0 for wait in sleeps.waits)


async def test_a_get_gives_up_after_three_attempts_as_not_applied(
    http: RegisterHttp, script: Script
) -> None:
    script.on("GET", "/x", httpx.Response(502))
    with pytest.raises(NotApplied) as caught:
        await http.get("/x", raw, deadline=plenty())
    assert caught.value.status == 502
    assert len(script.requests) == 3


async def test_a_post_answered_503_is_not_applied_and_left_to_the_outbox(
    http: RegisterHttp, script: Script
) -> None:
    script.on("POST", "/credit-receptions", httpx.Response(503, text="Be right back."))
    with pytest.raises(NotApplied) as caught:
        await http.post("/credit-receptions", raw, form={}, deadline=plenty())
    assert caught.value.status == 503
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("[Errno 111] Connection refused"), httpx.ConnectTimeout("timed out")],
    ids=["refused", "connect-timeout"],
)
async def test_a_post_that_was_never_sent_is_retried(
    http: RegisterHttp, script: Script, error: Exception
) -> None:
    script.on("POST", "/credit-receptions", error, error, ok({"uuid": "u"}))
    assert await http.post("/credit-receptions", raw, form={}, deadline=plenty()) == {"uuid": "u"}
    assert len(script.requests) == 3


async def test_connect_errors_end_as_not_applied(http: RegisterHttp, script: Script) -> None:
    script.on("POST", "/x", httpx.ConnectError("Name or service not known"))
    with pytest.raises(NotApplied, match="nothing was sent") as caught:
        await http.post("/x", raw, form={}, deadline=plenty())
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert caught.value.status == 0
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ReadError("Connection reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.WriteError("Broken pipe"),
    ],
    ids=["read-timeout", "reset", "protocol", "write"],
)
async def test_a_post_that_may_have_arrived_is_never_repeated(
    http: RegisterHttp, script: Script, error: Exception
) -> None:
    script.on("POST", "/credit-receptions", error, ok({"uuid": "u"}))
    with pytest.raises(OutcomeUnknown) as caught:
        await http.post("/credit-receptions", raw, form={}, deadline=plenty())
    assert caught.value.__cause__ is error
    assert len(script.requests) == 1


async def test_a_get_is_retried_after_a_read_timeout(http: RegisterHttp, script: Script) -> None:
    script.on("GET", "/x", httpx.ReadTimeout("timed out"), ok({"n": 2}))
    assert await http.get("/x", raw, deadline=plenty()) == {"n": 2}
    assert len(script.requests) == 2


# --- 429 and Retry-After ---------------------------------------------------------------


async def test_a_429_waits_for_retry_after_then_succeeds(
    http: RegisterHttp, script: Script, sleeps: Sleeps
) -> None:
    throttled = httpx.Response(
        429, headers={"Retry-After": "1"}, json={"message": "Too Many Attempts."}
    )
    script.on("POST", "/credit-receptions", throttled, ok({"uuid": "u"}))
    assert await http.post("/credit-receptions", raw, form={}, deadline=Deadline.after(3)) == {
        "uuid": "u"
    }
    assert len(script.requests) == 2
    (wait,) = sleeps.waits
    assert 1.0 <= wait <= 1.1


async def test_a_429_whose_retry_after_does_not_fit_the_deadline_is_returned(
    http: RegisterHttp, script: Script, sleeps: Sleeps
) -> None:
    script.on(
        "POST", "/credit-receptions", httpx.Response(429, headers={"Retry-After": "5"}), ok({})
    )
    with pytest.raises(NotApplied) as caught:
        await http.post("/credit-receptions", raw, form={}, deadline=Deadline.after(2))
    assert caught.value.retry_after == 5.0
    assert caught.value.status == 429
    assert len(script.requests) == 1
    assert sleeps.waits == []


async def test_retry_after_may_be_an_http_date(http: RegisterHttp, script: Script) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    script.on("GET", "/x", httpx.Response(429, headers={"Retry-After": when}))
    with pytest.raises(NotApplied) as caught:
        await http.get("/x", raw, deadline=Deadline.after(2))
    assert caught.value.retry_after is not None
    assert 110 <= caught.value.retry_after <= 121


def test_retry_after_parsing() -> None:
    now = datetime(2024, 3, 2, 11, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now=now) == 7.0
    assert retry_after_seconds("Sat, 02 Mar 2024 11:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Sat, 02 Mar 2024 10:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None) is None


# --- deadlines ----------------------------------------------------------------------------


async def test_a_slow_post_ends_at_the_deadline_as_may_have_applied(
    http: RegisterHttp, script: Script
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)  # an answer only the deadline can stop waiting for
        return ok({})

    script.on("POST", "/credit-receptions", slow)
    # the test's own bound (a busy machine's room): ending there would be TimeoutError
    with pytest.raises(OutcomeUnknown, match="deadline"):
        await asyncio.wait_for(
            http.post("/credit-receptions", raw, form={}, deadline=Deadline.after(0.2)), 30
        )
    assert len(script.requests) == 1


async def test_a_spent_deadline_sends_nothing(http: RegisterHttp, script: Script) -> None:
    with pytest.raises(NotApplied, match="before the request was sent"):
        await http.post("/x", raw, form={}, deadline=Deadline.after(0))
    assert script.requests == []


async def test_retries_stop_when_the_deadline_is_near(http: RegisterHttp, script: Script) -> None:
    # less time left than an attempt needs (MIN_ATTEMPT_S): no second attempt
    script.on("GET", "/x", httpx.Response(500))
    with pytest.raises(NotApplied):
        await http.get("/x", raw, deadline=Deadline.after(0.04))
    assert len(script.requests) == 1


async def test_a_framework_error_without_a_code_keeps_its_field_errors(
    http: RegisterHttp, script: Script
) -> None:
    body = {"message": "The given data was invalid.", "errors": {"email": "Invalid."}}
    script.on("POST", "/x", httpx.Response(422, json=body))
    with pytest.raises(RequestRejected, match="given data was invalid") as caught:
        await http.post("/x", raw, form={})
    assert (caught.value.status, caught.value.code) == (422, None)
    assert caught.value.field_errors == {"email": ["Invalid."]}


def test_a_path_value_stays_one_segment() -> None:
    from register_agent.loyalty.forms import segment  # noqa: PLC0415

    assert segment("6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f") == "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
    assert segment("../members") == "%2E%2E%2Fmembers"
