"""Typed answers of Leat's client API for the counter (``/api/v3/oauth/clients/...``):
orders and their points, order returns, vouchers and their locks, collectable rewards, and
the product library. The ground for an orders backend beside v1 and v3
(docs/register-api.md, "The client API: orders and vouchers").

Shapes follow the example answers of the docs' Orders, Order Returns, Vouchers, Collectable
Rewards, Products and Categories pages (kept in tests/fixtures/leat-docs/client-api/).
Models ignore fields they do not know. Identifiers are kept as text: the docs' examples
carry placeholders that are no uuids ("021as-8892k-ljkafds-98as"), and nothing here
computes with them. Amounts are integers in the currency's lowest denomination, as the
docs say of every monetary field of these calls.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from register_agent.loyalty.v1.models import ApiModel, Media

#: the one order result the docs describe: the order turned into points
POINTS_TRANSACTION = "points_transaction"


class ContactRef(ApiModel):
    uuid: str
    email: str | None = None


class ProductRef(ApiModel):
    """A line item's product, by the POS's own identifier."""

    external_identifier: str
    name: str | None = None


class LineItem(ApiModel):
    uuid: str | None = None
    external_identifier: str
    name: str
    quantity: Decimal
    price: int  # per unit
    total_amount: int  # price times quantity, less the line's discount
    product: ProductRef | None = None
    sub_line_items: list[LineItem] = Field(default_factory=list)


class Order(ApiModel):
    uuid: str
    external_identifier: str  # the POS's key, unique across all of the account's orders
    reference: str | None = None
    status: str  # CREATED, PENDING, COMPLETED, CANCELLED
    payment_status: str  # UNPAID, PENDING, PAID
    currency: str | None = None
    total_order_amount: int
    contact: ContactRef | None = None
    line_items: list[LineItem] = Field(default_factory=list)
    created_at: datetime | None = None


class Points(ApiModel):
    points: int
    new_balance: int | None = None  # the simulation answers the points alone


class OrderResult(ApiModel):
    """What the account's order action made of an order. The docs spell the type
    ``POINTS_TRANSACTION`` on one page and ``points_transaction`` on another: compared
    without case. Other types are announced ("e.g. Prepaid Transaction") and kept as
    they come, with their data unread."""

    type: str
    data: Any = None

    @property
    def points(self) -> Points | None:
        if self.type.lower() != POINTS_TRANSACTION or not isinstance(self.data, dict):
            return None
        return Points.model_validate(self.data)


class ProcessedOrder(ApiModel):
    """``POST /orders/create-and-process``: the order and its result."""

    order: Order
    result: OrderResult | None = None


class OrderRef(ApiModel):
    uuid: str


class OrderReturnBody(ApiModel):
    uuid: str
    status: str
    order: OrderRef | None = None  # the order returned


class ProcessedReturn(ApiModel):
    """``POST /order-returns/create-and-process``: the return and its result."""

    return_: OrderReturnBody = Field(alias="return")
    result: OrderResult | None = None


class Voucher(ApiModel):
    uuid: str
    code: str
    status: str  # ACTIVE, LOCKED, REDEEMED, ...
    name: str
    description: str | None = None
    expiration_date: datetime | None = None
    is_redeemed: bool = False
    redemptions_remaining: int | None = None
    #: the account's own voucher attributes by name (a PLU among them): an object, or []
    attributes: Any = None
    contact: ContactRef | None = None


class VoucherState(ApiModel):
    uuid: str
    status: str


class Lock(ApiModel):
    #: what releases this lock again; kept until the sale is recorded or given up
    release_key: str
    #: when Leat releases it by itself if nobody does
    system_release_at: datetime | None = None


class VoucherLock(ApiModel):
    """``POST /vouchers/{uuid}/lock`` and ``.../release``."""

    voucher: VoucherState
    lock: Lock


class CollectableReward(ApiModel):
    """A reward pre-redeemed for a contact, waiting to be collected at the counter."""

    uuid: str
    title: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    has_been_collected: bool = False
    contact: ContactRef | None = None
    reward: CollectedRewardInfo | None = None


class CollectedRewardInfo(ApiModel):
    uuid: str
    title: str
    description: str | None = None
    reward_type: str | None = None
    required_credits: int | None = None
    media: Media | None = None
    #: the PLU the till applies: the reward attribute the v3 rewards carry it in
    external_property: str | None = None


class Collection(ApiModel):
    """``PUT /collectable-rewards/collect/{uuid}`` and its reverse: ``{uuid, status}`` on
    the registers page; ``leat-openapi.yaml`` answers the whole collectable reward with
    ``has_been_collected`` instead of a status. Both are read."""

    uuid: str
    status: str | None = None  # COLLECTED, REVERSED
    has_been_collected: bool | None = None


class Category(ApiModel):
    uuid: str
    external_identifier: str
    name: str


class Product(ApiModel):
    uuid: str
    external_identifier: str
    name: str
    description: str | None = None
    categories: list[Category] = Field(default_factory=list)


CollectableReward.model_rebuild()
