"""The sandbox's route tables: method + path pattern -> handler, one table per API version.

A handler gets a :class:`Call` (the register behind the key, the merged input, the path's
groups) with the store's lock held, and returns a :class:`Reply` or raises ``ApiError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from register_agent.sandbox.params import ApiError, Params
from register_agent.sandbox.records import Account
from register_agent.sandbox.seed import Register, Shop
from register_agent.sandbox.state import Store


class _Meta:
    """A ``meta`` a handler did not choose, or chose to leave out."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: the API version's usual meta (below); NO_META leaves the key out, as the docs' POS
#: transaction and giftcard answers do
VERSION_META = _Meta("VERSION_META")
NO_META = _Meta("NO_META")


def meta_for(version: str, meta: Any) -> Any:
    """The meta to send. v3's and the client API's documented answers mostly carry ``[]``
    (Laravel's empty PHP array); the ones that show ``{}`` or paging say so in their
    handler. v1's reference is gone: its answers keep the ``{}`` they always had (decision:
    keep today's behaviour)."""
    if meta is VERSION_META:
        return [] if version in ("v3", "client") else {}
    return meta


@dataclass
class Reply:
    """A success: ``{"data": data, "meta": meta}`` with HTTP 200."""

    data: Any
    meta: Any = VERSION_META


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
