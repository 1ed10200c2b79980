"""What a module asked of asyncio (how long to sleep, how long to wait), or a printer link
of its status query, recorded while it still gets the real thing: tests assert what was
asked, which no busy machine changes, instead of timing how long it took."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest


class _Recording:
    """``asyncio`` as the module sees it, but ``name``'s calls noted in ``calls``."""

    def __init__(self, name: str, calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> None:
        self._name = name
        self._calls = calls

    def __getattr__(self, attribute: str) -> Any:
        real = getattr(asyncio, attribute)
        if attribute != self._name:
            return real

        def recorded(*args: Any, **kw: Any) -> Any:
            self._calls.append((args, kw))
            return real(*args, **kw)

        return recorded


def record_asyncio(
    monkeypatch: pytest.MonkeyPatch, module: str, name: str
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Each call of ``asyncio.<name>`` made by ``module`` (dotted path): (args, kwargs)."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(f"{module}.asyncio", _Recording(name, calls))
    return calls


def asked_waits(monkeypatch: pytest.MonkeyPatch, link: type[Any]) -> list[float]:
    """How long each status query of ``link`` was allowed to wait for its answer."""
    asked: list[float] = []
    ask = link.ask

    def recorded(self: Any, query: bytes, timeout: float, answers: int = 1) -> bytes:
        asked.append(timeout)
        return ask(self, query, timeout, answers)  # type: ignore[no-any-return]

    monkeypatch.setattr(link, "ask", recorded)
    return asked
