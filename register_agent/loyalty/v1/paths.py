"""The v1 Register API (2021) route set: every path the agent uses, each in one place.

Only ``/register`` and ``/register/members`` are confirmed (by the 2021 SDK); the v1
reference is gone, so the other paths are inferred from the OAuth calls of the same year
(docs/register-api.md, decision 1): a correction is a one-line change in ``Paths`` below.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import TypeAdapter

from register_agent.loyalty.forms import FormValue
from register_agent.loyalty.http import RegisterHttp, parse_with
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v1.models import (
    CreditReception,
    LoyaltyCard,
    MemberWithBalance,
    Register,
    RewardReception,
    Rewards,
    StagedCreditReception,
)

RewardType = Literal["physical", "digital", "external"]


class Paths:
    """v1 paths below ``/api/v1/register``."""

    REGISTER = ""
    CARD_BY_HASH = "/loyalty-cards/find-one-by"
    MEMBER = "/members/{id}"
    CREDIT_RECEPTIONS = "/credit-receptions"
    CREDIT_RECEPTION = "/credit-receptions/{id}"
    STAGED_RECEPTIONS = "/staged-credit-receptions"
    STAGED_RECEPTION = "/staged-credit-receptions/{id}"
    REWARDS = "/rewards"
    REWARD_RECEPTION = "/rewards/{type}/reward-reception"
    # giftcards: the calls live in loyalty/v1/giftcards.py
    GIFTCARD_BY_HASH = "/giftcards/find-one-by"
    GIFTCARD_TRANSACTIONS = "/giftcard-transactions"
    CORRECT_GIFTCARD_TRANSACTION = "/giftcard-transactions/correct/{id}"


_register = parse_with(TypeAdapter(Register))
_card = parse_with(TypeAdapter(LoyaltyCard))
_member = parse_with(TypeAdapter(MemberWithBalance))
_reception = parse_with(TypeAdapter(CreditReception))
_staged = parse_with(TypeAdapter(StagedCreditReception))
_rewards = parse_with(TypeAdapter(Rewards))
_reward_reception = parse_with(TypeAdapter(RewardReception))


def _customer(loyalty_card_id: int | None, member_id: int | None) -> dict[str, FormValue]:
    # v1 names a customer by card or by member, never both (credit and reward receptions)
    if (loyalty_card_id is None) == (member_id is None):
        raise ValueError("name the customer by exactly one of loyalty_card_id and member_id")
    return {"loyalty_card_id": loyalty_card_id, "member_id": member_id}


def _amount(purchase_amount: Decimal | None, credits: int | None) -> dict[str, FormValue]:
    if (purchase_amount is None) == (credits is None):
        raise ValueError("give exactly one of purchase_amount and credits")
    # purchase_amount as a decimal in currency units: the SDK types it int here and float
    # on staged receptions, and a decimal fits both without losing a cent
    return {"purchase_amount": purchase_amount, "credits": credits}


class V1Api:
    """The v1 calls, one method each; errors are ``register_agent.errors`` classes."""

    def __init__(self, http: RegisterHttp) -> None:
        self.http = http

    async def register(self, *, deadline: Deadline | None = None) -> Register:
        return await self.http.get(Paths.REGISTER, _register, deadline=deadline)

    async def find_loyalty_card(
        self, card_hash: str, *, deadline: Deadline | None = None
    ) -> LoyaltyCard:
        params = {"hash": card_hash}
        return await self.http.get(Paths.CARD_BY_HASH, _card, params=params, deadline=deadline)

    async def member(
        self, member_id: int, *, deadline: Deadline | None = None
    ) -> MemberWithBalance:
        path = Paths.MEMBER.format(id=member_id)
        return await self.http.get(path, _member, deadline=deadline)

    async def create_credit_reception(
        self,
        *,
        loyalty_card_id: int | None = None,
        member_id: int | None = None,
        purchase_amount: Decimal | None = None,
        credits: int | None = None,
        deadline: Deadline | None = None,
    ) -> CreditReception:
        form = {**_customer(loyalty_card_id, member_id), **_amount(purchase_amount, credits)}
        return await self.http.post(
            Paths.CREDIT_RECEPTIONS, _reception, form=form, deadline=deadline
        )

    async def credit_reception(
        self, reception_id: int, *, deadline: Deadline | None = None
    ) -> CreditReception:
        path = Paths.CREDIT_RECEPTION.format(id=reception_id)
        return await self.http.get(path, _reception, deadline=deadline)

    async def create_staged_credit_reception(
        self,
        *,
        purchase_amount: Decimal | None = None,
        credits: int | None = None,
        deadline: Deadline | None = None,
    ) -> StagedCreditReception:
        form = _amount(purchase_amount, credits)
        return await self.http.post(Paths.STAGED_RECEPTIONS, _staged, form=form, deadline=deadline)

    async def staged_credit_reception(
        self, staged_id: int, *, deadline: Deadline | None = None
    ) -> StagedCreditReception:
        path = Paths.STAGED_RECEPTION.format(id=staged_id)
        return await self.http.get(path, _staged, deadline=deadline)

    async def rewards(
        self,
        *,
        loyalty_card_id: int | None = None,
        member_id: int | None = None,
        deadline: Deadline | None = None,
    ) -> Rewards:
        """All rewards, or (with a card or member) what that customer can see."""
        params = {"loyalty_card_id": loyalty_card_id, "member_id": member_id}
        return await self.http.get(Paths.REWARDS, _rewards, params=params, deadline=deadline)

    async def create_reward_reception(
        self,
        reward_type: RewardType,
        reward_id: int,
        *,
        loyalty_card_id: int | None = None,
        member_id: int | None = None,
        deadline: Deadline | None = None,
    ) -> RewardReception:
        path = Paths.REWARD_RECEPTION.format(type=reward_type)
        form = {"reward_id": reward_id, **_customer(loyalty_card_id, member_id)}
        return await self.http.post(path, _reward_reception, form=form, deadline=deadline)
