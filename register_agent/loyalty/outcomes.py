"""Every way a Register API call can end, mapped onto the outcomes of ``errors`` (the table
is docs/architecture.md, "When something fails").

A response or an httpx exception goes in; an ``Envelope`` or one of the
``register_agent.errors`` API classes comes out. Errors are told apart by the API's
``code``, never by its message text. Messages name the call (method and path, never the
query, which may hold a card value) and what to do; they never carry the API key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from register_agent.errors import (
    CredentialsRejected,
    LoyaltyApiError,
    NotApplied,
    OutcomeUnknown,
    RequestRejected,
)

#: 60001 "credit reception creating in progress": maybe our own earlier attempt
IN_PROGRESS = 60001

#: httpx errors raised before any byte of the request left this machine
_NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)

#: what to do about the codes a till meets (docs/register-api.md, "Errors ...")
_HINTS: dict[int, str] = {
    1003: "some fields were not accepted (see the field errors); check the sale's data",
    1008: "the shop was not found; check that the API key belongs to this shop's register",
    1010: "the card is not activated yet; ask the customer to activate it or use another",
    1013: "the card is not registered to a customer; ask the customer to register it",
    1015: "the customer has reached the maximum amount of credits",
    1017: "the customer has too few credits for this reward",
    1018: "the reward is out of stock",
    1019: "the customer has claimed this reward as often as allowed",
    1027: "the POS transaction does not exist; the sale needs a new one",
    1028: "the credit reception does not exist",
    1034: "this has already been redeemed",
    1041: "the staged credit reception does not exist",
    1048: "no loyalty card has this value",
    1052: "the reward is not active",
    1100: "the giftcard program does not exist; check the dashboard",
    5001: "no giftcard has this value",
    5002: "the giftcard has expired",
    5003: "the giftcard's balance is too low for this amount",
    5006: "this giftcard cannot be topped up",
    5007: "the giftcard belongs to no giftcard program",
    5008: "the giftcard would hold more than its maximum",
    5010: "the giftcard transaction does not exist",
    6001: "the POS transaction already has a credit reception",
    6003: "the reward does not exist",
    7010: "the giftcard is not valid",
    7015: "this shop may not use giftcards of this program",
    55007: "no loyalty card has this value",
    55012: "the member does not exist",
    55021: "only digital giftcards can be made through the API",
    55024: "the credit reception was made by another shop",
    55025: "only the giftcard's last transaction can be corrected",
    55031: "the contact does not exist",
    55046: "the loyalty program has no default unit; set one in the dashboard",
    60003: "no loyalty card has this value",
    60004: "the card is inactive; ask the customer to use another",
    60007: "the unit does not exist in the loyalty program; check the dashboard",
}


@dataclass(frozen=True)
class Call:
    """The call being made, as messages show it: method and path, never the query."""

    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Envelope:
    """A successful answer: ``data`` as parsed JSON (decimals exact), ``meta`` as a dict."""

    data: Any
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorBody:
    """The API's error body ``{status_code, code, message, errors}``."""

    code: int | None
    message: str
    field_errors: dict[str, list[str]]


def maybe_applied(call: Call, what: str, *, status: int = 0) -> LoyaltyApiError:
    """The request was sent and no usable answer came back.

    A GET changes nothing on the server, so for a GET this is "not applied"; for a POST
    it is "may have applied" and must be reconciled before it is sent again.
    """
    if call.method == "GET":
        return NotApplied(f"{call}: {what}; try again later", status=status)
    return OutcomeUnknown(
        f"{call}: {what}; it may have been applied: reconcile before sending it again",
        status=status,
    )


def transport_error(call: Call, error: httpx.RequestError, *, sent: bool) -> LoyaltyApiError:
    """An httpx exception: nothing sent -> not applied; otherwise it may have applied."""
    detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if isinstance(error, httpx.DecodingError):
        return maybe_applied(call, f"the answer could not be decoded ({detail})", status=0)
    if isinstance(error, _NOTHING_SENT) or not sent:
        return NotApplied(
            f"{call}: the Register API could not be reached ({detail}); nothing was sent. "
            "Check the network and api.base_url; the call can be repeated safely"
        )
    return maybe_applied(call, f"the connection failed after the request was sent ({detail})")


def deadline_error(call: Call, *, sent: bool) -> LoyaltyApiError:
    """The call's own deadline ran out during an attempt."""
    if not sent:
        return NotApplied(f"{call}: the deadline passed before the request was sent")
    return maybe_applied(call, "the deadline passed while waiting for the answer")


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _json(response: httpx.Response) -> Any:
    # parse_float=Decimal: amounts arrive as exact decimals, never as binary floats
    return json.loads(response.content, parse_float=Decimal)


def _code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _field_errors(value: Any) -> dict[str, list[str]]:
    # each value may be a list of messages or, since the SDK's Jan 2025 fix, a bare string
    if not isinstance(value, Mapping):
        return {}
    errors: dict[str, list[str]] = {}
    for name, messages in value.items():
        if isinstance(messages, str):
            errors[str(name)] = [messages]
        elif isinstance(messages, list):
            errors[str(name)] = [str(message) for message in messages]
    return errors


def error_body(response: httpx.Response) -> ErrorBody | None:
    """The error body when the answer has one (a maintenance page or proxy error has not)."""
    try:
        body = _json(response)
    except ValueError:
        return None
    # a framework error (Laravel's 422, 429) has message and errors but no code
    if not isinstance(body, Mapping) or not {"code", "message", "errors"} & set(body):
        return None
    message = body.get("message")
    return ErrorBody(
        code=_code(body.get("code")),
        message=str(message)[:200] if message is not None else "",
        field_errors=_field_errors(body.get("errors")),
    )


def envelope(call: Call, response: httpx.Response) -> Envelope:
    """A 2xx answer's ``{data, meta}``; anything else is a malformed answer."""
    try:
        body = _json(response)
    except ValueError:
        body = None
    if not isinstance(body, Mapping) or "data" not in body:
        raise malformed(call, response.status_code, "is not a JSON object with 'data'")
    meta = body.get("meta")
    # meta is {} on some calls and [] (an empty PHP array) on others, or absent
    return Envelope(data=body["data"], meta=meta if isinstance(meta, Mapping) else {})


def malformed(call: Call, status: int, what: str) -> LoyaltyApiError:
    """A success status with an unusable body: a POST may still have been applied."""
    return maybe_applied(call, f"the answer (HTTP {status}) {what}", status=status)


#: what a refused credential's message tells to do, by the credential file's name
_REFUSALS = {
    "api-key": (
        "the Register API refused the API key",
        "store this register's valid key as the credential api-key",
    ),
    "personal-access-token": (
        "the client API refused the personal access token",
        "store the account's valid personal access token (not a register's API key) as "
        "the credential personal-access-token",
    ),
}


def status_error(
    call: Call, response: httpx.Response, *, credential: str = "api-key"
) -> LoyaltyApiError:
    """The error for a response that is not a 2xx; ``credential`` names the key sent."""
    status = response.status_code
    if status == 429:
        seconds = retry_after_seconds(response.headers.get("Retry-After"))
        after = f"after {seconds:.0f} s" if seconds is not None else "later"
        return NotApplied(
            f"{call}: the Register API is throttling this register (HTTP 429); "
            f"nothing was applied, try again {after}",
            status=status,
            retry_after=seconds,
        )
    if status in (408, 503):
        return NotApplied(
            f"{call}: the Register API is unavailable (HTTP {status}, maintenance or "
            "overload); nothing was applied, try again later",
            status=status,
        )
    if status in (401, 403):
        return CredentialsRejected(
            f"{call}: {_REFUSALS[credential][0]} (HTTP {status}); "
            f"{_REFUSALS[credential][1]} and reload the agent",
            status=status,
            code=_body_code(response),
        )
    if status >= 500:
        return maybe_applied(call, f"the Register API failed (HTTP {status})", status=status)
    return _rejection(call, response)


def _body_code(response: httpx.Response) -> int | None:
    body = error_body(response)
    return body.code if body else None


def _rejection(call: Call, response: httpx.Response) -> LoyaltyApiError:
    status = response.status_code
    body = error_body(response)
    code = body.code if body else None
    if code == IN_PROGRESS:
        return OutcomeUnknown(
            f"{call}: a credit reception for this customer is in progress (code 60001), "
            "possibly this very one; reconcile after a short delay before sending again",
            status=status,
            code=code,
        )
    if status == 404:
        # decision: an unknown route is final for this request (dead in the outbox); it
        # means a wrong api.base_url or api.version, or an inferred v1 path that is
        # wrong: a one-line fix in loyalty/v1/paths.py or loyalty/v3/paths.py
        return RequestRejected(
            f"{call}: the Register API has no such route (HTTP 404); check api.base_url "
            "and api.version",
            status=status,
            code=code,
        )
    if 300 <= status < 400:
        return RequestRejected(
            f"{call}: the Register API answered with a redirect (HTTP {status}); set "
            "api.base_url to the API's final https:// address",
            status=status,
        )
    said = f" ({body.message})" if body and body.message else ""
    hint = _HINTS.get(code or 0, "the request cannot succeed as it is; see the field errors")
    numbers = f"HTTP {status}, code {code}" if code is not None else f"HTTP {status}"
    return RequestRejected(
        f"{call} was refused ({numbers}){said}: {hint}",
        status=status,
        code=code,
        field_errors=body.field_errors if body else None,
    )
