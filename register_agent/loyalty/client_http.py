"""The agent's connection to Leat's client API (``/api/v3/oauth/clients/...``): orders,
order returns, vouchers, collectable rewards and the product library, which the Register
API does not have (docs/register-api.md, "The client API at the counter").

It is ``http.ApiHttp`` with the account's personal access token instead of a register's
API key and JSON bodies instead of forms: the same deadlines, inline retries and outcome
mapping onto ``register_agent.errors``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from register_agent.config import ApiConfig
from register_agent.errors import ConfigError
from register_agent.loyalty import retries
from register_agent.loyalty.forms import FormFields
from register_agent.loyalty.http import ApiHttp, Encoded, Parse
from register_agent.loyalty.retries import Deadline, Sleep

T = TypeVar("T")

#: where every client-API route lives, below ``api.base_url``
CLIENT_PREFIX = "/api/v3/oauth/clients"

#: a JSON request body: str, int, bool, None, Decimal, and lists and mappings of them
JsonBody = Mapping[str, Any]


def _json_value(value: object) -> object:
    # amounts go as integers of cents (the docs' monetary fields); a Decimal is a quantity
    # or a rate: integral ones as integers, others as the JSON number of their shortest
    # text (a float's repr gives back up to 15 significant digits exactly)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"a number sent to the client API must be finite, not {value}")
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not sent to the client API")


def encode_json(body: JsonBody) -> bytes:
    """The body as compact UTF-8 JSON; floats are refused like in forms (use Decimal)."""
    _refuse_floats(body)
    return json.dumps(body, default=_json_value, separators=(",", ":")).encode("utf-8")


def _refuse_floats(value: object) -> None:
    if isinstance(value, float):
        raise TypeError("floats are not sent to the client API; use Decimal or int cents")
    if isinstance(value, Mapping):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


class ClientApiHttp(ApiHttp):
    """Client-API calls under the account's personal access token (``api.
    personal_access_token``, the credential personal-access-token), bodies as JSON."""

    def __init__(
        self,
        config: ApiConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = retries.sleep,
    ) -> None:
        if config.personal_access_token is None:
            raise ConfigError(
                "api.personal_access_token is not set; create a personal access token in "
                "the Leat dashboard and store it encrypted as the systemd credential "
                "personal-access-token (systemd-creds encrypt, LoadCredentialEncrypted=)"
            )
        super().__init__(
            config,
            key=config.personal_access_token,
            prefix=CLIENT_PREFIX,
            credential="personal-access-token",
            transport=transport,
            sleep=sleep,
        )

    def _encode(self, body: Any) -> Encoded:
        return encode_json(body), "application/json"

    async def get(
        self,
        path: str,
        parse: Parse[T],
        *,
        params: FormFields | None = None,
        deadline: Deadline | None = None,
    ) -> T:
        """GET ``prefix + path`` with ``params`` in the query; any transient failure is
        retried (a GET changes nothing)."""
        return await self.call("GET", path, parse, params=params, deadline=deadline)

    async def post(
        self,
        path: str,
        parse: Parse[T],
        *,
        json: JsonBody | None = None,
        deadline: Deadline | None = None,
    ) -> T:
        """POST ``prefix + path`` with a JSON body; repeated only when nothing was sent or
        on 429 (``OutcomeUnknown`` when the bytes may have reached the server)."""
        return await self.call("POST", path, parse, body=json, deadline=deadline)

    async def put(
        self,
        path: str,
        parse: Parse[T],
        *,
        json: JsonBody | None = None,
        deadline: Deadline | None = None,
    ) -> T:
        """PUT ``prefix + path`` with a JSON body; retried like a POST."""
        return await self.call("PUT", path, parse, body=json, deadline=deadline)
