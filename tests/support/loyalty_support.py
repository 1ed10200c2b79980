"""Scripted Register API answers for the loyalty client's unit tests (httpx.MockTransport).

A ``Script`` answers each ``(method, path)`` with the next of its scripted answers (the
last one repeats) and records every request it saw, so tests count attempts exactly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
from pydantic import SecretStr

from register_agent.config import ApiConfig

API_KEY = "test-key-5f0c2b1e9d"
TOKEN_SECRET = "token-secret-77aa"
BASE = "https://api.test"

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]
Answer = httpx.Response | Exception | Handler


def api_config(version: str = "v3", **overrides: Any) -> ApiConfig:
    values: dict[str, Any] = {
        "version": version,
        "base_url": BASE,
        "api_key": SecretStr(API_KEY),
        "loyalty_token_secret": SecretStr(TOKEN_SECRET),
        "loyalty_token_base_url": "https://portal.test",
    }
    values.update(overrides)
    return ApiConfig(**values)


def ok(data: Any, meta: Any = None, *, status: int = 200) -> httpx.Response:
    body: dict[str, Any] = {"data": data, "meta": {} if meta is None else meta}
    return httpx.Response(status, json=body)


def api_error(
    code: int, message: str = "Error.", *, status: int = 400, errors: Any = None
) -> httpx.Response:
    body: dict[str, Any] = {"status_code": status, "code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return httpx.Response(status, json=body)


def form_of(request: httpx.Request) -> dict[str, str]:
    """The request's form body as a flat dict (each field sent once)."""
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    parsed = parse_qs(request.content.decode("ascii"), keep_blank_values=True, strict_parsing=False)
    return {key: values[0] for key, values in parsed.items()}


def query_of(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


class Script:
    """A fake Register API: scripted answers per route, every request recorded."""

    def __init__(self, version: str = "v3") -> None:
        self.prefix = f"/api/{version}/register"
        self.requests: list[httpx.Request] = []
        self._answers: dict[tuple[str, str], list[Answer]] = {}

    def on(self, method: str, path: str, *answers: Answer) -> Script:
        self._answers[(method, self.prefix + path)] = list(answers)
        return self

    def seen(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if (r.method, r.url.path) == (method, self.prefix + path)]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answers = self._answers.get((request.method, request.url.path))
        if not answers:
            return httpx.Response(404, text="<html>Not Found</html>")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            # a fresh copy: a Response object can be read once only
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )
        result = answer(request)
        return result if isinstance(result, httpx.Response) else await result


class Sleeps:
    """A retry sleep that records what it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
