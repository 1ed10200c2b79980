"""The Register API as ``register-agent doctor`` and the status ticket ask about it: is the
key accepted, what does the server's clock say, does the account define the
``agent_operation_id`` loyalty-transaction attribute; and the client API's personal access
token of the orders backend. Read-only calls, short deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx

from register_agent.config import ApiConfig
from register_agent.errors import CredentialsRejected, LoyaltyApiError, RequestRejected
from register_agent.loyalty import make_loyalty
from register_agent.loyalty.client_http import ClientApiHttp
from register_agent.loyalty.domain import RegisterInfo
from register_agent.loyalty.http import RegisterHttp
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v3.models import OPERATION_ATTRIBUTE
from register_agent.loyalty.v3.paths import V3Api

ProbeState = Literal["accepted", "refused", "unreachable"]


@dataclass(frozen=True)
class ApiProbe:
    state: ProbeState
    detail: str
    register: RegisterInfo | None = None
    #: the server's clock (its HTTP ``Date`` header, whole seconds), if it answered at all
    server_date: datetime | None = None


async def probe_api(config: ApiConfig, timeout_s: float = 5.0) -> ApiProbe:
    """The register info call (``GET /``): the key accepted, refused, or nobody answers;
    and the server's clock from the ``Date`` header of a plain request to the base URL."""
    server_date = await _server_date(config.base_url, timeout_s)
    # the register info is the register key's in the orders backend too (v3's call); the
    # personal access token has a probe of its own (probe_token)
    loyalty = make_loyalty(
        config.model_copy(update={"version": "v3"}) if config.version == "orders" else config
    )
    try:
        info = await loyalty.service.register(deadline=Deadline.after(timeout_s))
    except CredentialsRejected as exc:
        return ApiProbe("refused", str(exc), server_date=server_date)
    except LoyaltyApiError as exc:
        return ApiProbe("unreachable", str(exc), server_date=server_date)
    finally:
        await loyalty.aclose()
    return ApiProbe("accepted", f"register {info.name} ({info.identifier})", info, server_date)


#: an order key no till makes (no sale id holds a space): the token's probe finds nothing
_PROBE_KEY = "register-agent doctor"


async def probe_token(config: ApiConfig, timeout_s: float = 5.0) -> ApiProbe:
    """The personal access token on the client API, by the documented find of an order
    that cannot exist: its 404 says the token was accepted (and nothing is written)."""
    http = ClientApiHttp(config)
    try:
        await http.get(
            "/orders/find",
            lambda envelope: envelope,
            params={"external_identifier": _PROBE_KEY},
            deadline=Deadline.after(timeout_s),
        )
    except CredentialsRejected as exc:
        return ApiProbe("refused", str(exc))
    except RequestRejected as exc:
        if exc.status != 404:
            return ApiProbe("unreachable", str(exc))
    except LoyaltyApiError as exc:
        return ApiProbe("unreachable", str(exc))
    finally:
        await http.aclose()
    return ApiProbe("accepted", "the client API accepts it")


async def _server_date(base_url: str, timeout_s: float) -> datetime | None:
    # A request of its own, without the key, through httpx's usual proxy settings: the
    # service's client exposes no headers, and any answer (even a 404) carries a Date
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
            header = (await client.head(base_url)).headers.get("date")
    except httpx.HTTPError:
        return None
    try:
        return parsedate_to_datetime(header) if header else None
    except (TypeError, ValueError):
        return None


async def operation_attribute_defined(config: ApiConfig, timeout_s: float = 5.0) -> bool:
    """Whether the account defines the ``agent_operation_id`` loyalty-transaction
    attribute, from the account's documented list of them. Raises LoyaltyApiError when the
    API cannot answer."""
    api = V3Api(RegisterHttp(config))
    try:
        defined = await api.loyalty_transaction_attributes(deadline=Deadline.after(timeout_s))
    finally:
        await api.http.aclose()
    return any(attribute.name == OPERATION_ATTRIBUTE for attribute in defined)
