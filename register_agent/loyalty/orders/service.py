"""``LoyaltyService`` of the orders backend (``[api] version = "orders"``): v3 for
everything a register does (contacts, balances, loyalty tokens, rewards, giftcards, under
the register's API key), and a sale's credits as an **order** of Leat's client API, a
refund as an **order return** (under the account's personal access token,
``client_http``). The till and the outbox see the same interface as with v1 and v3.

Exactly once rests on the order's ``external_identifier`` (``bodies.order_key``), which
the docs want unique across the account's orders: saved with the operation before the
first send, looked up with the documented find call when an answer was lost
(``find_award``), and refused by the server when sent twice (read as already applied).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from pydantic import TypeAdapter

from register_agent.common.money import to_cents
from register_agent.config import ApiConfig
from register_agent.errors import AlreadyApplied, ConfigError, RequestRejected
from register_agent.loyalty.client_http import ClientApiHttp
from register_agent.loyalty.domain import CreditAward, CustomerRef, RegisterInfo, SaleLine
from register_agent.loyalty.http import parse_with
from register_agent.loyalty.orders import bodies
from register_agent.loyalty.orders.models import (
    Order,
    OrderResult,
    ProcessedOrder,
    ProcessedReturn,
)
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v3.paths import V3Api
from register_agent.loyalty.v3.service import V3LoyaltyService

log = logging.getLogger(__name__)

CREATE_ORDER = "/orders/create-and-process"
FIND_ORDER = "/orders/find"
SIMULATE_ORDER = "/orders/simulate"
CREATE_RETURN = "/order-returns/create-and-process"
#: the code the server refuses a field with, a taken external identifier among them
INVALID_INPUT = 1003

_PROCESSED = parse_with(TypeAdapter(ProcessedOrder))
_RETURNED = parse_with(TypeAdapter(ProcessedReturn))
_ORDER = parse_with(TypeAdapter(Order))
_RESULT = parse_with(TypeAdapter(OrderResult))


class OrdersLoyaltyService(V3LoyaltyService):
    """v3's till operations with the sale's credits as an order of the client API."""

    keyed_writes = True

    def __init__(
        self,
        api: V3Api,
        orders: ClientApiHttp,
        config: ApiConfig,
        *,
        register: RegisterInfo | None = None,
    ) -> None:
        super().__init__(api, config, register=register)
        self.orders = orders

    async def aclose(self) -> None:
        try:
            await self.orders.aclose()
        finally:
            await super().aclose()

    async def open_pos_transaction(
        self, sale_id: str, amount: Decimal, *, deadline: Deadline | None = None
    ) -> str | None:
        """No call: the key of the sale's order, which the outbox saves before the order
        is sent (as v3's POS transaction), so every attempt sends the same key. A refund's
        guard is this key too: its return's own key comes from the refund's operation."""
        register = await self.register(deadline=deadline)
        return bodies.order_key(register.identifier, sale_id)

    # the LoyaltyService signature; v3 takes these keywords as **_ and ignores them
    async def award_credits(  # type: ignore[override]
        self,
        customer: CustomerRef,
        amount: Decimal,
        *,
        sale_id: str,
        operation_id: str,
        pos_transaction: str | None = None,
        lines: Sequence[SaleLine] = (),
        deadline: Deadline | None = None,
        **_: object,
    ) -> CreditAward:
        deadline = deadline or self.orders.default_deadline()
        key = pos_transaction or await self.open_pos_transaction(sale_id, amount)
        assert key is not None
        body = bodies.order_body(key, customer.key, await self._shop(deadline), amount, lines)
        try:
            made = await self.orders.post(CREATE_ORDER, _PROCESSED, json=body, deadline=deadline)
        except RequestRejected as exc:
            raise _taken(exc, f"order {key}") from exc
        return _award(
            made.result,
            made.order.external_identifier,
            operation_id=operation_id,
            created_at=made.order.created_at,
        )

    # the LoyaltyService signature; v3 takes these keywords as **_ and ignores them
    async def find_award(  # type: ignore[override]
        self,
        customer: CustomerRef,
        *,
        amount: Decimal,
        since: datetime | None = None,
        key: str | None = None,
        deadline: Deadline | None = None,
        **_: object,
    ) -> list[CreditAward]:
        """The order ``key`` names, by the documented find call; [] when there is none.

        The find answers the order without its result, so its points are asked of the
        documented simulation, with the found order's own lines (the account's rules as
        they are now: the same as at the sale unless someone changed them since)."""
        if key is None:
            return []
        order = await self._find(key, deadline)
        if order is None:
            return []
        if order.contact is not None and order.contact.uuid != customer.key:
            # our key on another customer's order: not this sale's; a person looks at it
            log.warning("order %s names another customer than the sale", key)
            return []
        return [
            CreditAward(
                reception_id=order.external_identifier,
                credits=await self._simulated_points(order, deadline),
                balance=None,
                created_at=order.created_at,
            )
        ]

    async def _find(self, key: str, deadline: Deadline | None) -> Order | None:
        try:
            return await self.orders.get(
                FIND_ORDER, _ORDER, params={"external_identifier": key}, deadline=deadline
            )
        except RequestRejected as exc:
            if exc.status == 404:  # the documented "not found": never made
                return None
            raise

    async def _simulated_points(self, order: Order, deadline: Deadline | None) -> int:
        body = {
            "contact": {"uuid": order.contact.uuid if order.contact else ""},
            "business_profile": {"uuid": await self._shop(deadline)},
            "total_order_amount": order.total_order_amount,
            "line_items": [
                line.model_dump(mode="json", include={"external_identifier", "name", "price"})
                | {"quantity": int(line.quantity), "total_amount": line.total_amount}
                | (
                    {"product": {"external_identifier": line.product.external_identifier}}
                    if line.product
                    else {}
                )
                for line in order.line_items
            ],
        }
        result = await self.orders.post(SIMULATE_ORDER, _RESULT, json=body, deadline=deadline)
        points = result.points
        return points.points if points else 0

    async def reverse_award(
        self, reception_id: str, *, deadline: Deadline | None = None
    ) -> CreditAward:
        """A whole refund: the order ``reception_id`` (its key) returned in full."""
        return await self._return(
            reception_id, bodies.whole_return_key(reception_id), None, deadline
        )

    # the LoyaltyService signature; v3 takes these keywords as **_ and ignores them
    async def take_back_credits(  # type: ignore[override]
        self,
        customer: CustomerRef,
        credits: int,
        *,
        operation_id: str,
        pos_transaction: str | None = None,
        original: str | None = None,
        amount: Decimal | None = None,
        deadline: Deadline | None = None,
        **_: object,
    ) -> CreditAward:
        """A part refund: ``amount`` of the order ``original`` returned, under a key of
        the refund's own operation (the server's answer decides the points, not
        ``credits``, the till's proportional estimate)."""
        if original is None or amount is None:
            raise ValueError("an order return needs the order and the money refunded")
        key = bodies.part_return_key(original, operation_id)
        return await self._return(original, key, to_cents(amount), deadline)

    async def _return(
        self, order_key: str, key: str, cents: int | None, deadline: Deadline | None
    ) -> CreditAward:
        deadline = deadline or self.orders.default_deadline()
        order = await self._find(order_key, deadline)
        if order is None:
            raise RequestRejected(
                f"order {order_key} is not found at Leat, so nothing of it can be returned; "
                "take the points back in the Leat dashboard",
                status=404,
            )
        body = bodies.return_body(order, key, cents)
        try:
            made = await self.orders.post(CREATE_RETURN, _RETURNED, json=body, deadline=deadline)
        except RequestRejected as exc:
            raise _taken(exc, f"order return {key}") from exc
        return _award(made.result, made.return_.uuid)

    async def find_reversals(
        self, customer: CustomerRef, original_id: str, *, deadline: Deadline | None = None
    ) -> list[CreditAward] | None:
        # not asked by the outbox here (keyed_writes: a lost return is sent again and its
        # repeat refused as taken); the docs have no find of a return
        return None

    async def _shop(self, deadline: Deadline | None) -> str:
        shop = self._config.shop_uuid or (await self.register(deadline=deadline)).shop_key
        if not shop:
            raise ConfigError("api.shop_uuid is not set and the register info has no shop uuid")
        return shop


def _taken(exc: RequestRejected, what: str) -> RequestRejected | AlreadyApplied:
    """A refused write whose key is taken: sent before, and landed (decision below).

    The docs say the external identifier "must be unique" and not what a second one
    answers. Decided (the sandbox answers so): the validation error 1003 naming the field
    ``external_identifier``, nothing booked. Read as "already applied": only this till
    makes keys with its register's identifier, and only for this sale (or this refund),
    so a taken key is our own earlier attempt, whose answer was lost. The outbox then
    settles it with the find (an order) or takes it as done (a return)."""
    if exc.code == INVALID_INPUT and "external_identifier" in (exc.field_errors or {}):
        return AlreadyApplied(
            f"{what} exists already (its external identifier is taken): an earlier attempt landed",
            status=exc.status,
            code=exc.code,
        )
    return exc


def _award(
    result: OrderResult | None,
    reception_id: str,
    *,
    operation_id: str | None = None,
    created_at: datetime | None = None,
) -> CreditAward:
    """An order's or a return's points as the outbox keeps a credit: what the account's
    order action gave (none: nothing credited, no balance known)."""
    points = result.points if result else None
    return CreditAward(
        reception_id=reception_id,
        credits=points.points if points else 0,
        balance=points.new_balance if points else None,
        operation_id=operation_id,
        created_at=created_at,
    )
