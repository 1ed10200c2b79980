"""The routes of browser access (``session.py`` holds the sessions, tickets and throttle
they use): the counter page's login, its session after a reload and its logout, and the
stream tickets a browser's ``EventSource`` opens the event stream with.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from register_agent.api import browser_docs
from register_agent.api.problems import ErrorBody, error_response
from register_agent.api.session import (
    COOKIE,
    SESSION_PATH,
    TICKET_TTL_S,
    TICKETS_PATH,
    BrowserAccess,
    Sessions,
    Throttle,
    Tickets,
)
from register_agent.errors import CounterRefusal

log = logging.getLogger(__name__)


class Login(BaseModel):
    """The counter page's login: the till's local API token, or the counter PIN."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(default=None, max_length=512, description="the local API token")
    pin: str | None = Field(default=None, max_length=64, description="the counter PIN")


class SessionAnswer(BaseModel):
    csrf_token: str = Field(description="send it as `X-CSRF-Token` with every POST/DELETE")
    expires_at: datetime = Field(description="when the session ends; log in again after it")


class TicketAnswer(BaseModel):
    ticket: str = Field(description="put it in `GET /v1/events?ticket=...`, once")
    expires_in_s: int = Field(default=TICKET_TTL_S, description="get a new one after this")


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unix"


def session_router(
    token: str, access: BrowserAccess, sessions: Sessions, tickets: Tickets
) -> APIRouter:
    """``POST``/``DELETE /v1/counter/session`` (open: they check what they are sent) and
    ``POST /v1/stream-tickets`` (behind the guard, like every other route)."""
    router = APIRouter(tags=["browser"])
    throttle = Throttle()
    refused: dict[int | str, dict[str, Any]] = {
        401: {"model": ErrorBody},
        429: {"model": ErrorBody},
    }

    @router.post(
        SESSION_PATH,
        summary="Log the counter page in",
        description=browser_docs.LOGIN,
        responses=refused,
    )
    async def log_in(request: Request, login: Annotated[Login, Body()]) -> Response:
        client = _client(request)
        wait_s = throttle.wait_s(client)
        if wait_s > 0:
            return error_response(
                429,
                "too_many_attempts",
                "too many wrong tries; wait a minute and try again, or ask the manager",
                headers={"Retry-After": str(int(wait_s) + 1)},
            )
        if not _accepted(login, token, access.pin):
            throttle.failed(client)
            log.warning("counter page: a login from %s was refused", client)
            what = "token or PIN" if access.pin else "token"
            return error_response(
                401, "login_refused", f"this {what} is not the till's; check it and try again"
            )
        throttle.succeeded(client)
        cookie, csrf, expires = sessions.issue()
        answer = SessionAnswer(csrf_token=csrf, expires_at=datetime.fromtimestamp(expires, UTC))
        response = Response(answer.model_dump_json(), media_type="application/json")
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(access.session_ttl_s),
            path="/",
            httponly=True,
            samesite="strict",
            secure=access.secure,
        )
        response.headers["Cache-Control"] = "no-store"
        log.info("counter page: logged in from %s (%s)", client, "PIN" if login.pin else "token")
        return response

    @router.get(
        SESSION_PATH,
        summary="The counter page's session, after a reload",
        description=browser_docs.SESSION,
        responses={401: {"model": ErrorBody}},
    )
    async def current_session(request: Request) -> Response:
        # Open, like the login: the cookie is checked here. Its CSRF token is safe to give
        # to whoever holds the cookie: another site's page cannot send the cookie
        # (SameSite=Strict) nor, without CORS, read the answer.
        cookie = request.cookies.get(COOKIE, "")
        session_id = sessions.check(cookie)
        if session_id is None:
            return error_response(401, "session_expired", "log in to the counter page")
        expires = datetime.fromtimestamp(int(cookie.split(".")[1]), UTC)
        answer = SessionAnswer(csrf_token=sessions.csrf_of(session_id), expires_at=expires)
        return Response(
            answer.model_dump_json(),
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    @router.delete(
        SESSION_PATH,
        status_code=204,
        summary="Log the counter page out",
        description=browser_docs.LOGOUT,
    )
    async def log_out(request: Request) -> Response:
        cookie = request.cookies.get(COOKIE)
        if cookie is not None:
            sessions.revoke(cookie)
        response = Response(status_code=204)
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="strict", secure=access.secure
        )
        return response

    @router.post(
        TICKETS_PATH,
        summary="A one-time ticket for the event stream",
        description=browser_docs.TICKET,
        responses={401: {"model": ErrorBody}},
    )
    async def stream_ticket() -> TicketAnswer:
        return TicketAnswer(ticket=tickets.issue())

    return router


def _accepted(login: Login, token: str, pin: str | None) -> bool:
    if (login.token is None) == (login.pin is None):
        raise CounterRefusal(
            "invalid_request", "send either the till's token or the counter PIN", status=422
        )
    if login.token is not None:
        return hmac.compare_digest(login.token.strip().encode(), token.encode())
    # without a configured PIN every PIN is wrong (and counts as a failed try)
    return pin is not None and hmac.compare_digest(
        (login.pin or "").strip().encode(), pin.strip().encode()
    )
