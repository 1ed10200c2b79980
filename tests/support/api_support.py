"""Helpers for the local API tests: a scripted till (a test double of ``TillApi``, the
real till comes in the end-to-end tests), the real server on a free loopback port or a
unix socket, httpx clients, and a small reader of server-sent events.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from register_agent.api import LocalApiServer, make_app
from register_agent.common.events import EventBus
from register_agent.counter.messages import (
    ActionAnswer,
    ClaimAnswer,
    ClaimRequest,
    Collectables,
    CollectableView,
    CustomerView,
    LoyaltyBlock,
    RefundRequest,
    RewardView,
    SaleAnswer,
    SaleRequest,
    TillStatus,
)
from register_agent.errors import CounterRefusal
from register_agent.receipts.drawer import DrawerAnswer

TOKEN = "pos-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JAN = CustomerView(
    display="Jan",
    balance=150,
    card_tail="C3D4",
    rewards=(RewardView(key="coffee", title="Free coffee", required_credits=100, claimable=True),),
    attributes={"firstname": "Jan", "tier": "Gold"},
)


@dataclass
class ScriptedTill:
    """Answers like a small till: sales by id (409 on a different body), one customer,
    claims refused while ``offline``; every request it received is kept in ``received``."""

    customer: CustomerView | None = None
    offline: bool = False
    failure: Exception | None = None  # raised by every call when set
    status_delay_s: float = 0.0  # a status that takes its time (shutdown tests)
    sales: dict[str, SaleRequest] = field(default_factory=dict)
    received: list[tuple[str, Any]] = field(default_factory=list)

    def _take(self, call: str, argument: Any = None) -> None:
        self.received.append((call, argument))
        if self.failure is not None:
            raise self.failure

    async def sell(self, request: SaleRequest) -> SaleAnswer:
        self._take("sell", request)
        first = self.sales.setdefault(request.sale_id, request)
        if first != request:
            raise CounterRefusal(
                "sale_conflict", f"sale {request.sale_id} was already recorded", status=409
            )
        credits = int(first.amount)
        block = LoyaltyBlock(
            state="credited",
            lines=(f"You earned {credits} credits",),
            credits=credits,
            balance=150 + credits,
        )
        return SaleAnswer(sale_id=first.sale_id, loyalty=block, receipt="printing")

    def _known(self, sale_id: str) -> None:
        if sale_id not in self.sales:
            raise CounterRefusal("unknown_sale", f"no sale {sale_id} on this till", status=404)

    async def refund(self, sale_id: str, request: RefundRequest) -> ActionAnswer:
        self._take("refund", (sale_id, request))
        self._known(sale_id)
        return ActionAnswer(sale_id=sale_id, action="refund", message="refund queued")

    async def void(self, sale_id: str) -> ActionAnswer:
        self._take("void", sale_id)
        self._known(sale_id)
        return ActionAnswer(sale_id=sale_id, action="void", message="sale voided")

    async def reprint(self, sale_id: str) -> ActionAnswer:
        self._take("reprint", sale_id)
        self._known(sale_id)
        return ActionAnswer(sale_id=sale_id, action="reprint", message="copy printing")

    async def current_customer(self) -> CustomerView | None:
        self._take("current_customer")
        return self.customer

    async def clear_customer(self) -> None:
        self._take("clear_customer")
        self.customer = None

    async def claim_reward(self, request: ClaimRequest) -> ClaimAnswer:
        self._take("claim_reward", request)
        if self.offline:
            raise CounterRefusal("offline", "rewards can only be claimed online", status=503)
        return ClaimAnswer(claim_id=request.claim_id, title="Free coffee", credits=-100, balance=50)

    async def collectable_rewards(self, key: str | None, card: str | None) -> Collectables:
        self._take("collectable_rewards", (key, card))
        return (CollectableView(uuid="c-1", title="Birthday cake", required_credits=40),)

    async def status(self) -> TillStatus:
        self._take("status")
        await anyio.sleep(self.status_delay_s)
        return TillStatus(
            register_api="reachable",
            outbox_pending=2,
            outbox_oldest_age_s=3.5,
            outbox_review=0,
            outbox_dead=1,
            alerts=(),
            printer="ok",
            readers=("front: ok",),
        )

    async def open_drawer(self) -> DrawerAnswer:
        self._take("open_drawer")
        if self.offline:
            return DrawerAnswer(opened=False, message="the drawer could not be opened (offline)")
        return DrawerAnswer(opened=True)


@dataclass
class Api:
    """A running local API and what it serves."""

    server: LocalApiServer
    till: ScriptedTill
    bus: EventBus
    client: httpx.AsyncClient  # sends the token
    anonymous: httpx.AsyncClient  # sends none


@contextlib.asynccontextmanager
async def running_api(
    listen: str = "127.0.0.1:0",
    *,
    bus: EventBus | None = None,
    keepalive_s: float = 15.0,
    graceful_s: int = 5,
) -> AsyncIterator[Api]:
    till, bus = ScriptedTill(), bus or EventBus()
    app = make_app(till, bus, TOKEN, keepalive_s=keepalive_s)
    server = LocalApiServer(app, listen, graceful_s=graceful_s)
    with anyio.fail_after(5):
        await server.start()
    address = server.address
    if address.path is not None:
        base, transport = "http://till", httpx.AsyncHTTPTransport(uds=str(address.path))
    else:
        base, transport = f"http://{address}", httpx.AsyncHTTPTransport()
    client = httpx.AsyncClient(base_url=base, headers=AUTH, timeout=5, transport=transport)
    anonymous = httpx.AsyncClient(base_url=base, timeout=5, transport=transport)
    try:
        yield Api(server, till, bus, client, anonymous)
    finally:
        with anyio.fail_after(10):
            await client.aclose()
            await anonymous.aclose()
            await server.stop()


@dataclass
class Frame:
    """One server-sent event block: its fields, and its comment lines."""

    fields: dict[str, str] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    @property
    def data(self) -> Any:
        return json.loads(self.fields["data"])


class SseReader:
    """Reads an event stream block by block, each read bounded in time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next_frame(self, timeout: float = 3.0) -> Frame:
        frame = Frame()
        with anyio.fail_after(timeout):
            async for line in self._lines:
                if not line:
                    if frame.fields or frame.comments:
                        return frame
                    continue
                if line.startswith(":"):
                    frame.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    frame.fields[name] = value.removeprefix(" ")
        raise EOFError("the event stream ended")

    async def next_event(self, timeout: float = 3.0) -> Frame:
        """The next block with an ``event:`` field (keep-alive comments skipped)."""
        while True:
            frame = await self.next_frame(timeout)
            if "event" in frame.fields:
                return frame
