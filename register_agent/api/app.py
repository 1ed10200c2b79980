"""The local API's routes: the POS software's sales, refunds, voids, reprints, customer,
reward claims, status and events, each handed to the till (``TillApi``) as typed messages
from ``counter/messages.py``; documented for the POS developer at ``/docs``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, FastAPI, Header, Path, Query, Response, Security
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPBearer

from register_agent import __version__
from register_agent.api import browser_docs, counter_docs, counter_page, docs, docs_page
from register_agent.api.auth import BearerGuard
from register_agent.api.cors import Cors
from register_agent.api.enrolment import enrolment_router
from register_agent.api.giftcard_routes import giftcard_router
from register_agent.api.problems import ErrorBody, install_error_handlers
from register_agent.api.profile_routes import profile_router
from register_agent.api.session import SESSION_PATH, BrowserAccess, Sessions, Tickets
from register_agent.api.session_routes import session_router
from register_agent.api.stream import KEEPALIVE_S, StreamGate, cursor_for, event_frames
from register_agent.api.voucher_routes import voucher_router
from register_agent.common.events import EventBus
from register_agent.counter.enrolment.messages import EnrolmentApi
from register_agent.counter.giftcards.messages import GiftcardApi
from register_agent.counter.messages import (
    ActionAnswer,
    ClaimAnswer,
    ClaimRequest,
    CollectableView,
    CustomerView,
    RefundRequest,
    SaleAnswer,
    SaleRequest,
    TillApi,
    TillStatus,
)
from register_agent.counter.profiles import ProfileApi
from register_agent.counter.vouchers.messages import VoucherApi
from register_agent.errors import ConfigError, CounterRefusal
from register_agent.receipts.drawer import DrawerAnswer

#: the documentation, readable without the token (it holds no secret; the POS developer
#: reads it before the installer hands over the token)
OPENAPI_PATH = "/openapi.json"
DOCS_PATHS = frozenset({docs_page.DOCS_PATH, OPENAPI_PATH})

# The bearer scheme is declared for the documentation ("Authorize" in /docs); BearerGuard
# enforces it before a request reaches any route.
_bearer = HTTPBearer(auto_error=False, description="the till's local API token")

SaleId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:/-]+$",
        description="the POS's sale id, as sent with `POST /v1/sales`",
    ),
]


class _LocalApi(FastAPI):
    def openapi(self) -> dict[str, Any]:
        document = super().openapi()
        docs.money_as_strings(document)
        return document


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": docs.ERRORS[status]} for status in statuses}


def make_app(
    till: TillApi,
    events: EventBus,
    token: str,
    *,
    keepalive_s: float = KEEPALIVE_S,
    giftcards: GiftcardApi | None = None,
    profile: ProfileApi | None = None,
    enrolment: EnrolmentApi | None = None,
    browser: BrowserAccess | None = None,
    counter_language: Literal["en", "nl"] = "en",
    vouchers: VoucherApi | None = None,
) -> FastAPI:
    """The local API over ``till`` and ``events``; every route needs ``token`` (or a
    browser's session or stream ticket, ``session.py``, as ``browser`` allows).

    ``giftcards`` (when the till takes them), ``profile`` (the customer's newsletter and
    attributes) and ``enrolment`` (customers without their card, ``api/enrolment.py``) add
    their routes. The counter page (``/counter``) opens in ``counter_language``."""
    if not token.strip():
        raise ConfigError("local_api.token: an empty token would let anyone in; set one")
    app = _LocalApi(
        title="register-agent local API",
        version=__version__,
        description=docs.DESCRIPTION + browser_docs.BROWSER,
        docs_url=None,  # docs_page serves it without a CDN
        redoc_url=None,
        openapi_url=OPENAPI_PATH,
        swagger_ui_oauth2_redirect_url=None,
        responses=_errors(400, 401, 422, 500, 503),
        dependencies=[Security(_bearer)],
    )
    gate = StreamGate()
    app.state.event_streams = gate
    for router in (_sales(till, vouchers), _customer(till), _till_state(till)):
        app.include_router(router)
    if vouchers is not None:
        app.include_router(voucher_router(vouchers))
    if profile is not None:
        app.include_router(profile_router(profile))
    if giftcards is not None:
        app.include_router(giftcard_router(giftcards))
    if enrolment is not None:
        app.include_router(enrolment_router(enrolment))
    app.include_router(_events(events, gate, keepalive_s))
    access = browser or BrowserAccess()
    sessions, tickets = Sessions(token, access), Tickets()
    app.include_router(session_router(token, access, sessions, tickets))
    docs_page.install(app, OPENAPI_PATH)
    counter_page.install(app, counter_language)
    install_error_handlers(app)
    app.add_middleware(
        BearerGuard,
        token=token,
        # the login checks what it is sent itself; the counter page holds no data
        open_paths=DOCS_PATHS | {SESSION_PATH} | counter_page.OPEN_PATHS,
        open_prefix=docs_page.ASSETS_PREFIX,
        sessions=sessions,
        tickets=tickets,
        origins=access.cors_origins,
    )
    app.add_middleware(Cors, origins=access.cors_origins)  # outermost: preflights first
    return app


def _sales(till: TillApi, vouchers: VoucherApi | None) -> APIRouter:
    router = APIRouter(prefix="/v1/sales", tags=["sales"])

    @router.post("", summary="Record a paid sale", description=docs.SELL, responses=_errors(409))
    async def sell(
        request: Annotated[SaleRequest, Body(openapi_examples=docs.SALE_EXAMPLES)],
    ) -> SaleAnswer:
        answer = await till.sell(request)
        if vouchers is not None:  # the vouchers locked for it are redeemed now
            await vouchers.sale_recorded(request.sale_id)
        return answer

    @router.post(
        "/{sale_id:path}/refund",
        summary="Refund a sale, whole or in part",
        description=docs.REFUND,
        responses=_errors(404, 409),
    )
    async def refund(
        sale_id: SaleId,
        request: Annotated[
            RefundRequest | None, Body(openapi_examples=docs.REFUND_EXAMPLES)
        ] = None,
    ) -> ActionAnswer:
        return await till.refund(sale_id, request or RefundRequest())

    @router.post(
        "/{sale_id:path}/void",
        summary="Void a sale",
        description=docs.VOID,
        responses=_errors(404, 409),
    )
    async def void(sale_id: SaleId) -> ActionAnswer:
        answer = await till.void(sale_id)
        if vouchers is not None:  # the vouchers locked for it are released
            await vouchers.sale_voided(sale_id)
        return answer

    @router.post(
        "/{sale_id:path}/reprint",
        summary="Print a sale's receipt again (COPY)",
        description=docs.REPRINT,
        responses=_errors(404, 409),
    )
    async def reprint(sale_id: SaleId) -> ActionAnswer:
        return await till.reprint(sale_id)

    return router


def _customer(till: TillApi) -> APIRouter:
    router = APIRouter(tags=["customer"])

    @router.get(
        "/v1/customer",
        summary="The customer the next sale is for",
        description=docs.CUSTOMER,
        response_model=CustomerView,
        responses={204: {"description": "no customer: nobody scanned a card"}},
    )
    async def current_customer() -> CustomerView | Response:
        customer = await till.current_customer()
        # No customer is the till's normal state, not an error: 204, so a POS never
        # confuses it with a wrong URL (404) or logs it as a failure.
        return customer if customer is not None else Response(status_code=204)

    @router.delete(
        "/v1/customer",
        status_code=204,
        summary="Forget the scanned customer",
        description=docs.CLEAR_CUSTOMER,
    )
    async def clear_customer() -> None:
        await till.clear_customer()

    @router.post(
        "/v1/rewards/claims",
        summary="Claim a reward for a customer",
        description=docs.CLAIM,
        responses=_errors(404, 409, 503),
    )
    async def claim_reward(
        request: Annotated[ClaimRequest, Body(openapi_examples=docs.CLAIM_EXAMPLES)],
    ) -> ClaimAnswer:
        return await till.claim_reward(request)

    @router.get(
        "/v1/customer/collectable-rewards",
        summary="The rewards a customer pre-redeemed, to hand out with a sale",
        description=counter_docs.COLLECTABLES,
        responses=_errors(404, 409, 503),
    )
    async def collectable_rewards(
        customer_key: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
        customer_card: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    ) -> list[CollectableView]:
        return list(await till.collectable_rewards(customer_key, customer_card))

    return router


def _till_state(till: TillApi) -> APIRouter:
    router = APIRouter(tags=["till"])

    @router.get("/v1/status", summary="The whole till in a few fields", description=docs.STATUS)
    async def status() -> TillStatus:
        return await till.status()

    @router.post(
        "/v1/drawer",
        summary="Open the cash drawer",
        description=docs.DRAWER,
        responses=_errors(503),
    )
    async def open_drawer() -> DrawerAnswer:
        opened = await till.open_drawer()
        if not opened.opened:  # the POS shows the sentence: why, and to use the key
            raise CounterRefusal("drawer_not_opened", opened.message, status=503)
        return opened

    return router


def _events(bus: EventBus, gate: StreamGate, keepalive_s: float) -> APIRouter:
    router = APIRouter(tags=["till"])

    @router.get(
        "/v1/events",
        summary="Events for the POS screen (server-sent events)",
        description=docs.EVENTS,
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"text/event-stream": {}},
                "description": "an endless text/event-stream",
            }
        },
    )
    async def event_stream(
        last_event_id: Annotated[str | None, Header(max_length=80)] = None,
        resume_after: Annotated[
            str | None, Query(alias="last_event_id", max_length=80, description=docs.RESUME)
        ] = None,
    ) -> StreamingResponse:
        # The header wins: a browser's EventSource sends it on every automatic reconnect,
        # with a newer id than the query string of its first connection.
        after = last_event_id if last_event_id is not None else resume_after
        frames = event_frames(bus, cursor_for(bus, after), gate, after, keepalive_s)
        return StreamingResponse(
            frames,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router
