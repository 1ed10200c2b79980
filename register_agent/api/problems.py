"""Every error of the local API as one JSON shape, ``{"code": ..., "message": ...}``: the
till's refusals with their own status and code, invalid requests as 422 naming the field,
a journal that takes no writes (full disk, damaged file) as 503 with ``Retry-After``,
anything unexpected as a neutral 500 (the details go to the log, never to the POS).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from register_agent.errors import CounterRefusal, JournalUnavailable

log = logging.getLogger(__name__)

STOPPING_MESSAGE = "the till's agent is stopping; try again in a moment"
INTERNAL_MESSAGE = "the till could not handle this request; try again, and tell the installer"
#: a request that must be journaled while the journal takes no writes: what the cashier
#: does now, and when the POS may send the same request again (nothing of it was kept)
JOURNAL_REFUSALS = {
    "disk_full": (
        "disk_full",
        "the till's disk is full, so loyalty points cannot be recorded now: finish the sale "
        "without loyalty points and call support",
        "60",  # freeing space takes a person: a minute, not a tight loop of resends
    ),
    "damaged": (
        "journal_damaged",
        "the till's loyalty journal is damaged, so loyalty points cannot be recorded: finish "
        "the sale without loyalty points and call support (register-agent journal recover)",
        "300",  # it does not mend by itself: an operator recovers it and restarts the agent
    ),
}
_HTTP_CODES = {
    400: ("bad_request", "the request could not be read"),
    404: ("not_found", "this address is not part of the local API; see /docs"),
    405: ("method_not_allowed", "this address does not take that method; see /docs"),
}


class FieldProblem(BaseModel):
    field: str = Field(description="the field, e.g. `amount` or `lines[0].text`")
    problem: str


class ErrorBody(BaseModel):
    """The body of every error answer. ``code`` is stable: the POS may switch on it."""

    code: str = Field(description="stable, e.g. `sale_conflict`, `invalid_request`")
    message: str = Field(description="a sentence the cashier can read")
    fields: list[FieldProblem] | None = Field(
        default=None, description="`invalid_request` only: each field and what is wrong"
    )


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = ErrorBody(code=code, message=message, **extra).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def describe_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """pydantic's errors as ``field: problem``; the input values are left out on purpose
    (a card number or a token may be among them)."""
    return [FieldProblem(field=_field_name(e), problem=_problem(e)) for e in errors]


def _field_name(error: dict[str, Any]) -> str:
    loc: Sequence[int | str] = error["loc"]
    if error.get("type") == "json_invalid":  # its location is a character position
        return "body"
    name = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name or "body"


def _problem(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request; see /docs"
    if kind == "json_invalid":
        return f"is not valid JSON (near character {error['loc'][-1]})"
    if kind in ("model_attributes_type", "dict_type", "model_type") and len(error["loc"]) == 1:
        return "send a JSON object, with Content-Type: application/json"
    return str(error.get("msg", "is not valid")).removeprefix("Value error, ")


async def _refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CounterRefusal)
    return error_response(exc.status, exc.code, str(exc))


async def _journal_unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JournalUnavailable)
    code, message, retry_after = JOURNAL_REFUSALS.get(exc.kind, JOURNAL_REFUSALS["damaged"])
    log.warning("local API: %s %s refused: %s", request.method, request.url.path, exc)
    return error_response(503, code, message, headers={"Retry-After": retry_after})


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = describe_problems(exc.errors())
    message = "; ".join(f"{p.field}: {p.problem}" for p in problems)
    return error_response(422, "invalid_request", message, fields=problems)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
    return error_response(exc.status_code, code, message, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CounterRefusal, _refused)
    app.add_exception_handler(JournalUnavailable, _journal_unavailable)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_middleware(LastResort)


class LastResort:
    """An unexpected exception: logged once with its traceback, answered 500 neutrally.

    A plain ASGI middleware rather than an ``Exception`` handler: Starlette re-raises after
    such a handler, and uvicorn would log the same traceback a second time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except asyncio.CancelledError:
            # uvicorn cancels what is still running after the graceful wait at shutdown:
            # the POS still gets a JSON answer it can act on (uvicorn logs the rest)
            if not started:
                await error_response(503, "stopping", STOPPING_MESSAGE)(scope, receive, send)
            raise
        except Exception:
            log.exception("local API: %s %s failed", scope["method"], scope["path"])
            if not started:  # else the answer is half sent: uvicorn closes the connection
                await error_response(500, "internal_error", INTERNAL_MESSAGE)(scope, receive, send)
