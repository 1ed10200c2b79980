"""The Register API as ``register-agent doctor`` and the status ticket ask about it: is the
key accepted, what does the server's clock say, does the account have the
``agent_operation_id`` loyalty-transaction attribute. Read-only calls, short deadlines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx

from register_agent.config import ApiConfig
from register_agent.errors import CredentialsRejected, LoyaltyApiError
from register_agent.loyalty import make_loyalty_service
from register_agent.loyalty.domain import RegisterInfo
from register_agent.loyalty.http import RegisterHttp
from register_agent.loyalty.models_v3 import OPERATION_ATTRIBUTE
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v3 import V3Api

ProbeState = Literal["accepted", "refused", "unreachable"]


class _DateWatch(httpx.AsyncBaseTransport):
    """httpx's own transport that remembers the ``Date`` header of the last answer."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.server_date: datetime | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        header = response.headers.get("date")
        if header:
            try:
                self.server_date = parsedate_to_datetime(header)
            except (TypeError, ValueError):
                self.server_date = None
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True)
class ApiProbe:
    state: ProbeState
    detail: str
    register: RegisterInfo | None = None
    #: the server's clock (its HTTP ``Date`` header, whole seconds), if it answered at all
    server_date: datetime | None = None


async def probe_api(config: ApiConfig, timeout_s: float = 5.0) -> ApiProbe:
    """The register info call (``GET /``): the key accepted, refused, or nobody answers."""
    watch = _DateWatch()
    service = make_loyalty_service(config, transport=watch)
    try:
        info = await service.register(deadline=Deadline.after(timeout_s))
    except CredentialsRejected as exc:
        return ApiProbe("refused", str(exc), server_date=watch.server_date)
    except LoyaltyApiError as exc:
        return ApiProbe("unreachable", str(exc), server_date=watch.server_date)
    finally:
        await service.aclose()
        await watch.aclose()
    return ApiProbe(
        "accepted", f"register {info.name} ({info.identifier})", info, watch.server_date
    )


@dataclass(frozen=True)
class AttributeSeen:
    #: True: a transaction carries the attribute (even empty); False: transactions were
    #: listed and none has it; None: the contact has no transactions to tell by
    present: bool | None
    transactions: int


async def operation_attribute_seen(
    config: ApiConfig, contact_uuid: str, timeout_s: float = 5.0
) -> AttributeSeen:
    """Whether the account's loyalty transactions carry ``agent_operation_id``.

    A register key has no call that lists the account's attribute definitions; but the
    API returns every loyalty-transaction attribute of the account by name on each
    transaction (null when unset), so one page of a contact's transactions tells, provided
    the contact has at least one. Raises LoyaltyApiError when the API cannot answer.
    """
    api = V3Api(RegisterHttp(config))
    try:
        found, _ = await api.loyalty_transactions(
            contact_uuid, limit=25, deadline=Deadline.after(timeout_s)
        )
    finally:
        await api.http.aclose()
    if not found:
        return AttributeSeen(None, 0)
    present = any(
        OPERATION_ATTRIBUTE in txn.model_fields_set
        or (isinstance(txn.attributes, Mapping) and OPERATION_ATTRIBUTE in txn.attributes)
        for txn in found
    )
    return AttributeSeen(present, len(found))
