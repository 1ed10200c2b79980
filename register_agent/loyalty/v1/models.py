"""Typed answers of the v1 Register API (2021): integer ids, members and loyalty cards.

Models ignore fields they do not know (the API adds fields over time) and hold money as
``Decimal``. Shapes follow docs/register-api.md, "v1 routes".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class ApiModel(BaseModel):
    """Base of every answer model: frozen, tolerant of fields added by the API."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class LoyaltyProgram(ApiModel):
    id: int
    name: str


class Shop(ApiModel):
    id: int
    name: str
    loyalty_program: LoyaltyProgram | None = None


class Register(ApiModel):
    """``GET /api/v1/register``: who this API key is."""

    id: int | None = None
    name: str
    identifier: str
    shop: Shop


class MemberRef(ApiModel):
    id: int
    email: str | None = None


class CreditBalance(ApiModel):
    id: int | None = None
    balance: int


class LoyaltyCard(ApiModel):
    """A card found by its hash; ``member`` is None for a card nobody registered.

    The card's custom attributes (Apr 2021) arrive as extra keys: kept in ``model_extra``.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    id: int
    hash: str
    type: str | None = None
    status: str
    member: MemberRef | None = None


class Member(MemberRef):
    """A member as ``members/{id}`` gives it: custom attributes are extra keys
    (``model_extra``) next to ``id`` and ``email``."""

    model_config = ConfigDict(extra="allow", frozen=True)


class MemberWithBalance(ApiModel):
    """``GET members/{id}`` and ``members/find-one-by``."""

    member: Member
    credit_balance: CreditBalance | None = None


class CreditReception(ApiModel):
    id: int
    credits: int
    purchase_amount: Decimal | None = None
    created_at: datetime | None = None
    member: MemberRef | None = None
    # optional: the sandbox sends it, the 2021 API may not have
    credit_balance: CreditBalance | None = None


class StagedCreditReception(ApiModel):
    id: int
    url: str
    hash: str
    credits: int | None = None
    purchase_amount: Decimal | None = None
    created_at: datetime | None = None
    credit_reception: CreditReception | None = None


class Media(ApiModel):
    type: str
    value: str


class Reward(ApiModel):
    id: int
    title: str
    required_credits: int
    active: bool = True
    stock: int | None = None
    price: Decimal | None = None
    external_property: str | None = None
    media: Media | None = None


class Rewards(ApiModel):
    """``GET rewards``: one list per reward type (each type has its own claim route)."""

    physical: list[Reward] = []
    digital: list[Reward] = []
    external: list[Reward] = []

    @model_validator(mode="before")
    @classmethod
    def _empty_php_array(cls, data: Any) -> Any:
        # PHP encodes an empty associative array as [] (no rewards of any type)
        return {} if data == [] else data


class RewardRef(ApiModel):
    id: int
    title: str | None = None
    required_credits: int | None = None


class RewardReception(ApiModel):
    """A claimed reward; ``credits`` is negative (since May 2021)."""

    id: int
    title: str | None = None
    credits: int
    member: MemberRef | None = None
    physical_reward: RewardRef | None = None
    digital_reward: RewardRef | None = None
    external_reward: RewardRef | None = None
    external_property: str | None = None
    credit_balance: CreditBalance | None = None
