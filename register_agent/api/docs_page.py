"""The local API's documentation page (``/docs``), served whole by the agent itself.

FastAPI's own page loads Swagger UI from a CDN, which leaves it blank on a till without
internet; the same files ship in the fastapi-offline package and are served from here.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_PATH = "/docs"
#: Swagger UI's script, style sheet and icon; open without the token like the page itself
ASSETS_PREFIX = "/docs/assets/"
_ASSETS = Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI, openapi_url: str) -> None:
    """Serve the documentation page and its assets on ``app`` (made with docs_url=None)."""
    app.mount(ASSETS_PREFIX.rstrip("/"), StaticFiles(directory=_ASSETS), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def documentation() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - documentation",
            swagger_js_url=f"{ASSETS_PREFIX}swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PREFIX}swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PREFIX}favicon.png",
        )
