"""The counter page's files as the agent serves them: open without the token (they hold no
data), in the till's language, self-contained (nothing from another host), and with
nothing secret in them."""

from __future__ import annotations

import re

import httpx
import pytest

from register_agent.api import make_app
from register_agent.common.events import EventBus
from tests.support.api_support import TOKEN, ScriptedTill

pytestmark = pytest.mark.anyio


def client(language: str = "en") -> httpx.AsyncClient:
    app = make_app(ScriptedTill(), EventBus(), TOKEN, counter_language=language)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://till")


async def test_the_page_and_its_files_need_no_token_and_come_from_the_agent_only() -> None:
    async with client() as anonymous:
        page = await anonymous.get("/counter")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        linked = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
        assert sorted(linked) == [
            "/counter/counter.css",
            "/counter/counter.js",
            "/counter/desk.js",
            "/counter/texts.js",
            "/counter/vouchers.js",
        ]
        for path in linked:
            asset = await anonymous.get(path)
            assert asset.status_code == 200, path
            assert "http://" not in asset.text
            assert "https://" not in asset.text
        # the page is open, the API behind it is not
        assert (await anonymous.get("/v1/status")).status_code == 401
        assert (await anonymous.get("/counter/other.js")).status_code == 401


@pytest.mark.parametrize("language", ["en", "nl"])
async def test_the_page_opens_in_the_tills_language(language: str) -> None:
    async with client(language) as anonymous:
        page = (await anonymous.get("/counter")).text
    assert f'data-language="{language}"' in page
    assert TOKEN not in page
    assert "{{" not in page
