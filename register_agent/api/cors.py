"""CORS for a browser POS (``[local_api] cors_origins``): the outermost layer of the local
API, before the guard (``auth.py``), because a browser's preflight carries no credential.
A listed origin's preflight is answered here; a listed origin's answers carry the headers
that let its page read them. Any other origin gets no CORS header at all, so its browser
refuses to hand the answer to the page; never ``*``, since credentials are allowed.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from register_agent.api.problems import error_response

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = "Authorization, Content-Type, Last-Event-ID, X-CSRF-Token"
#: a browser may keep a preflight's answer this long (seconds)
MAX_AGE_S = "600"


class Cors:
    """Answers listed origins' preflights and marks their answers readable."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self._origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if (
            origin is not None
            and scope["method"] == "OPTIONS"
            and "access-control-request-method" in headers
        ):
            await self._preflight(origin, headers, scope, receive, send)
            return
        if origin is None or origin not in self._origins:
            await self.app(scope, receive, send)
            return

        async def readable(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                answer["Access-Control-Allow-Origin"] = origin
                answer["Access-Control-Allow-Credentials"] = "true"
                answer.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, readable)

    async def _preflight(
        self, origin: str, headers: Headers, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if origin not in self._origins:
            # no CORS header: the browser refuses the request it asked about
            refusal = error_response(
                403,
                "origin_not_allowed",
                f"web pages from {origin} may not call this till; ask the installer to add "
                "it to [local_api] cors_origins",
            )
            await refusal(scope, receive, send)
            return
        allow = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": MAX_AGE_S,
            "Vary": "Origin",
        }
        # Chromium asks before a public page reaches a loopback or private address
        # (Private Network Access): a listed origin is one the installer meant to allow
        if headers.get("access-control-request-private-network") == "true":
            allow["Access-Control-Allow-Private-Network"] = "true"
        await Response(status_code=204, headers=allow)(scope, receive, send)
