"""Typed answers of the v3 Register API: uuids, contacts and contact identifiers.

Models ignore fields they do not know and hold money as ``Decimal``. Shapes follow the
docs' example answers (docs/register-api.md, "v3 routes").
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import Field

from register_agent.loyalty.v1.models import ApiModel, Media

__all__ = [
    "Contact",
    "ContactIdentifier",
    "ContactRef",
    "CreditBalance",
    "CreditReception",
    "LoyaltyTransaction",
    "Media",
    "PageMeta",
    "PosTransaction",
    "Register",
    "Reward",
    "RewardReception",
    "Shop",
    "ShopRef",
    "Unit",
]

#: the loyalty-transaction attribute that carries the agent's operation id: sent with every
#: credit reception for a person reading the dashboard; no decision rests on it, since the
#: documented list entries do not show it (docs/register-api.md, decision 14)
OPERATION_ATTRIBUTE = "agent_operation_id"
#: The reward attribute that holds the PLU the till applies for a claimed reward. The docs
#: give a reward no PLU or external id field: a shop adds reward attributes of its own
#: (``/reward-attributes``; the docs' "Update Reward" example sets one to "PLU123"), and
#: they arrive by name next to the reward's fields. Decision: the attribute is named
#: ``external_property``, the name v1 gives the same thing, so a reward set up for one
#: version reads the same on the other (docs/register-api.md, decision 27).
PLU_ATTRIBUTE = "external_property"


class Shop(ApiModel):
    id: int | None = None
    uuid: UUID | None = None
    name: str


class Register(ApiModel):
    """``GET /api/v3/register``: who this API key is; ``shop.uuid`` signs loyalty tokens."""

    id: int | str | None = None
    name: str
    identifier: str
    shop: Shop


class CreditBalance(ApiModel):
    id: int | None = None
    balance: int


class ContactRef(ApiModel):
    uuid: UUID
    email: str | None = None
    credit_balance: CreditBalance | None = None


class Contact(ApiModel):
    """``GET contacts/{uuid}`` (the fields the till uses).

    The custom attributes come three ways: ``current_values`` (raw), ``current_display_values``
    (as the dashboard shows them: "Gold" rather than a tier id) and the deprecated
    ``attributes``; ``loyalty.attributes`` picks. Each may be an object or ``[]`` (PHP).
    """

    uuid: UUID
    email: str | None = None
    credit_balance: CreditBalance | None = None
    current_values: Any = None
    current_display_values: Any = None
    attributes: Any = None


class ContactIdentifier(ApiModel):
    """A scanned card; ``contact`` is None for a card nobody registered."""

    name: str | None = None
    value: str
    active: bool
    contact: ContactRef | None = None


class PosTransaction(ApiModel):
    uuid: UUID
    transaction_id: str | None = None
    terminal_id: str | None = None
    created_at: datetime | None = None
    amount_in_cents: int


class Unit(ApiModel):
    id: int | None = None
    name: str
    label: str | None = None
    prefix: str | None = None
    is_default: bool | None = None


class CreditReception(ApiModel):
    """A credit reception (also what reverse calls and token claims answer)."""

    uuid: UUID
    type: str = "credit_reception"
    credits: int
    unit_value: Decimal | None = None
    unit: Unit | None = None
    created_at: datetime | None = None
    contact: ContactRef | None = None
    shop: Shop | None = None
    contact_identifier: ContactIdentifier | None = None
    agent_operation_id: str | None = None


class Reward(ApiModel):
    uuid: UUID
    id: int | None = None
    title: str
    reward_type: str | None = Field(default=None)
    type: str | None = None
    is_active: bool = True
    required_credits: int
    description: str | None = None
    media: Media | None = None
    pre_redeemable: bool = False
    stock: int | None = None
    #: the PLU the till applies: a reward attribute, by name next to the standard fields
    #: as the docs show a reward's custom attributes (the name: PLU_ATTRIBUTE)
    external_property: str | None = Field(default=None, validation_alias=PLU_ATTRIBUTE)


class RewardRef(ApiModel):
    """The reward a reception names: the whole reward in the docs' reward reception (its
    attributes by name next to its fields, the PLU among them), a uuid and a type in the
    vendor SDK's ``digital_reward``. Only what the till uses is read."""

    uuid: UUID
    title: str | None = None
    reward_type: str | None = None
    media: Media | None = None
    #: a claim of it waits at the shop as a collectable reward (the docs' pre-redeem)
    pre_redeemable: bool = False
    external_property: str | None = Field(default=None, validation_alias=PLU_ATTRIBUTE)


class DigitalRewardCode(ApiModel):
    """The code a digital reward's reception hands the customer (the vendor SDK's
    ``digital_reward_code``; the registers pages show no digital reception)."""

    code: str


class ClaimedReward(ApiModel):
    """What a reward reception says of its reward, wherever the vendor puts it: ``reward``
    (the registers pages' example), ``digital_reward`` (the vendor SDK's digital
    reception), and a digital reward's ``digital_reward_code``."""

    reward: RewardRef | None = None
    digital_reward: RewardRef | None = None
    digital_reward_code: DigitalRewardCode | None = None

    def claimed(self) -> RewardRef | None:
        return self.reward or self.digital_reward

    def plu(self) -> str | None:
        claimed = self.claimed()
        return claimed.external_property if claimed else None

    def code(self) -> str | None:
        return self.digital_reward_code.code if self.digital_reward_code else None


class RewardReception(ClaimedReward):
    """A claimed reward; ``credits`` is negative. Its reward's PLU and a digital reward's
    code are read where the docs and the SDK put them (``ClaimedReward``): a reception has
    no top-level PLU."""

    uuid: UUID
    type: str = "reward_reception"
    title: str | None = None
    credits: int
    created_at: datetime | None = None
    contact: ContactRef | None = None


class ShopRef(ApiModel):
    """The shop of a transaction; its uuid as text (the docs' examples are not uuids)."""

    uuid: str | None = None
    name: str | None = None


class LoyaltyTransaction(ClaimedReward):
    """One entry of a contact's loyalty transactions, by its documented fields only: the
    docs' list entries carry no custom attributes, so none is read from them."""

    uuid: UUID
    type: str | None = None
    credits: int | None = None
    unit_value: Decimal | None = None
    created_at: datetime | None = None
    contact: ContactRef | None = None
    shop: ShopRef | None = None
    title: str | None = None


class PageMeta(ApiModel):
    """v3 list meta; a list without paging meta is one complete page."""

    page: int = 1
    limit: int | None = None
    last_page: int = 1
    total: int | None = None


class TransactionAttribute(ApiModel):
    """A loyalty-transaction attribute the account defines, by the name credit receptions
    carry it under (``GET /loyalty-transaction-attributes/``)."""

    name: str
    type: str | None = None
