"""The sandbox's route tables: method + path pattern -> handler, one table per API version.

A handler gets a :class:`Call` (the register behind the key, the merged input, the path's
groups) with the store's lock held, and returns a :class:`Reply` or raises ``ApiError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from register_agent.sandbox.params import ApiError, Params
from register_agent.sandbox.records import Account
from register_agent.sandbox.seed import Register, Shop
from register_agent.sandbox.state import Store


@dataclass
class Reply:
    """A success: ``{"data": data, "meta": meta}`` with HTTP 200."""

    data: Any
    meta: Any = field(default_factory=dict)


@dataclass
class Call:
    """One API request as a handler sees it."""

    store: Store
    register: Register
    params: Params
    args: tuple[str, ...]
    base_url: str
    pause: Callable[[], None] = lambda: None

    @property
    def shop(self) -> Shop:
        return self.store.shop(self.register)

    @contextmanager
    def crediting(self, account: Account | None) -> Iterator[None]:
        """Piggy's per-customer lock: a concurrent credit reception for the same customer
        gets 60001 while this one is being written (the latency fault stretches that time).
        """
        if account is None:
            self.pause()
            yield
            return
        busy = self.store.in_progress
        if account.member.id in busy:
            raise ApiError(60001, "Credit reception creating in progress.")
        busy.add(account.member.id)
        try:
            self.pause()
            yield
        finally:
            busy.discard(account.member.id)


Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: Handler
    version: str


class RouteTable:
    """Routes of one API version under one path prefix."""

    def __init__(self, version: str, prefix: str) -> None:
        self.version = version
        self.prefix = prefix
        self.routes: list[Route] = []

    def add(self, methods: str, path: str) -> Callable[[Handler], Handler]:
        """Register ``handler`` for ``methods`` ("GET" or "GET POST") on ``path`` (a regex)."""

        def register(handler: Handler) -> Handler:
            pattern = re.compile(re.escape(self.prefix) + path + "/?")
            self.routes.append(Route(frozenset(methods.split()), pattern, handler, self.version))
            return handler

        return register


def find_route(tables: list[RouteTable], method: str, path: str) -> tuple[Route, tuple[str, ...]]:
    """The route for ``method path``; 404 when no path matches, 405 for a wrong method."""
    path_matched = False
    for table in tables:
        for route in table.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            path_matched = True
            if method in route.methods:
                return route, match.groups()
    if path_matched:
        raise ApiError(405, "The method is not supported for this route.", status=405)
    raise ApiError(404, "Route not found.", status=404)
