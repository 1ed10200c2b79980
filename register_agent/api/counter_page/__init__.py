"""The counter page (``/counter``): a cashier's screen for a till without POS integration,
served by the agent itself from the files beside this module (one HTML page, its scripts
and its style sheet: no CDN, no build step, so it works on a till without internet).

The page holds no data and no secret: it is open without the token like ``/docs``, and
everything it shows comes from the local API after the cashier logs in (a session cookie,
``api/`` session routes). The one thing the agent writes into it is the till's language
(``[receipt] language``), the page's default; the cashier can switch.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Literal

from fastapi import FastAPI
from starlette.responses import Response

PAGE_PATH = "/counter"
#: the page's own files, each served at /counter/<name>: its words, its desks, its core
ASSETS = {
    "texts.js": "text/javascript; charset=utf-8",
    "desk.js": "text/javascript; charset=utf-8",
    "vouchers.js": "text/javascript; charset=utf-8",
    "counter.js": "text/javascript; charset=utf-8",
    "counter.css": "text/css; charset=utf-8",
}
#: what the bearer guard lets through without the token
OPEN_PATHS = frozenset({PAGE_PATH, *(f"{PAGE_PATH}/{name}" for name in ASSETS)})

_FOLDER = files(__name__)
# Only this page's own files, scripts from nowhere else (a script injected into a shown
# name could not run), no framing (a click on a hidden till page is a sale), no referrer.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # a new agent version brings its page along: never an old script against a new API
    "Cache-Control": "no-store",
}


def _read(name: str) -> bytes:
    return (_FOLDER / name).read_bytes()


def install(app: FastAPI, language: Literal["en", "nl"]) -> None:
    """Serve the page on ``app``, its language the till's ``[receipt] language``."""
    page = _read("index.html").replace(b"{{language}}", language.encode("ascii"))

    @app.get(PAGE_PATH, include_in_schema=False)
    async def counter_page() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=_HEADERS)

    for name, media_type in ASSETS.items():
        _serve(app, f"{PAGE_PATH}/{name}", _read(name), media_type)


def _serve(app: FastAPI, path: str, body: bytes, media_type: str) -> None:
    async def asset() -> Response:
        return Response(body, media_type=media_type, headers=_HEADERS)

    app.add_api_route(path, asset, methods=["GET"], include_in_schema=False)
