"""Typed answers of the giftcard calls, v1 and v3. Money is integer cents
(``amount_in_cents``), as the API sends it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from register_agent.loyalty.v1.models import ApiModel


class GiftcardProgram(ApiModel):
    id: int | None = None
    uuid: UUID | None = None
    name: str | None = None
    max_amount_in_cents: int | None = None


class GiftcardV1(ApiModel):
    """v1 ``giftcards/find-one-by``. The 2021 SDK parsed no balance; we read
    ``amount_in_cents`` like v3 (decision, in the sandbox's help too): None if absent."""

    id: int
    hash: str
    type: str | None = None
    active: bool = True
    upgradeable: bool | None = None
    expiration_date: str | None = None  # a date, or a datetime in v3's answers
    amount_in_cents: int | None = None
    giftcard_program: GiftcardProgram | None = None


class GiftcardV3(ApiModel):
    """v3 ``giftcards/find-one-by``."""

    uuid: UUID
    id: int | None = None
    hash: str
    type: str | None = None
    active: bool = True
    upgradeable: bool | None = None
    expiration_date: str | None = None
    amount_in_cents: int | None = None
    giftcard_program: GiftcardProgram | None = None


class GiftcardTransactionV1(ApiModel):
    id: int
    amount_in_cents: int
    created_at: datetime | None = None


class CardRef(ApiModel):
    id: int | None = None
    uuid: UUID | None = None


class GiftcardTransactionV3(ApiModel):
    uuid: UUID
    id: int | None = None
    amount_in_cents: int
    type: str | None = None
    card: CardRef | None = None
    created_at: datetime | None = None
