"""``LoyaltyService`` on the v1 Register API (2021): members behind loyalty cards, staged
credit receptions for customers without a card, one claim route per reward type."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from pydantic import SecretStr

from register_agent.errors import (
    CredentialsRejected,
    LoyaltyApiError,
    OutcomeUnknown,
    RequestRejected,
)
from register_agent.loyalty.attributes import card_attributes, customer_from_member, member_details
from register_agent.loyalty.domain import (
    CardState,
    CreditAward,
    Customer,
    CustomerDetails,
    CustomerRef,
    Identification,
    RegisterInfo,
    Reward,
    RewardClaim,
    StagedCredits,
)
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v1.models import CreditBalance, MemberWithBalance
from register_agent.loyalty.v1.paths import RewardType, V1Api

log = logging.getLogger(__name__)

#: codes that mean "this value is not a card of ours": card not found (both spellings),
#: and invalid input (a value that cannot be a card hash at all)
_NOT_A_CARD = frozenset({55007, 1048, 1003})
_REWARD_TYPES: tuple[RewardType, ...] = ("physical", "digital", "external")


def _number(text: str, what: str) -> int:
    if not text.isdigit():
        # e.g. an operation queued under v3 (uuids) and sent after switching to v1
        raise RequestRejected(
            f"{what} {text[:8]}... is not a v1 id; the operation was recorded for another "
            "api.version and cannot be sent to v1",
            status=0,
        )
    return int(text)


def _by_card_or_member(customer: CustomerRef) -> dict[str, int | None]:
    # the card when the customer was scanned (the API then checks the card's state)
    if customer.card is not None:
        return {"loyalty_card_id": _number(customer.card, "loyalty card"), "member_id": None}
    return {"loyalty_card_id": None, "member_id": _number(customer.key, "member")}


class V1LoyaltyService:
    """The till's loyalty operations over Register API v1."""

    can_reconcile = False
    keyed_writes = False
    stages_online = True
    can_reverse = False  # no reverse call in v1

    def __init__(self, api: V1Api, *, register: RegisterInfo | None = None) -> None:
        self.api = api
        self._register = register

    def counter_deadline(self) -> Deadline:
        return self.api.http.counter_deadline()

    def use_api_key(self, api_key: SecretStr) -> None:
        self.api.http.use_api_key(api_key)

    async def aclose(self) -> None:
        await self.api.http.aclose()

    async def register(self, *, deadline: Deadline | None = None) -> RegisterInfo:
        if self._register is None:
            found = await self.api.register(deadline=deadline)
            self._register = RegisterInfo(
                name=found.name,
                identifier=found.identifier,
                shop_name=found.shop.name,
                shop_key=str(found.shop.id),
            )
        return self._register

    async def identify(
        self, value: str, *, deadline: Deadline | None = None, with_balance: bool = True
    ) -> Identification:
        deadline = deadline or self.api.http.default_deadline()
        try:
            card = await self.api.find_loyalty_card(value, deadline=deadline)
        except RequestRejected as exc:
            if exc.code in _NOT_A_CARD:
                return Identification(CardState.UNKNOWN, None, "not a loyalty card")
            raise
        if card.member is None:
            return Identification(
                CardState.UNREGISTERED, None, "this card is not registered to a customer yet"
            )
        ref = CustomerRef(key=str(card.member.id), card=str(card.id))
        customer = Customer(ref, card.member.email or "", None, card_attributes(card))
        if card.status != "ACTIVE":
            reason = f"this card is {card.status.lower()}; ask for another card"
            return Identification(CardState.INACTIVE, customer, reason)
        if with_balance:
            member = await self._member_or_none(ref, deadline)
            if member is not None:
                customer = customer_from_member(member, card)
        return Identification(CardState.ACTIVE, customer, "")

    async def balance(self, customer: CustomerRef, *, deadline: Deadline | None = None) -> int:
        # a member without a credit balance has not collected anything yet
        return (await self.details(customer, deadline=deadline)).balance or 0

    async def details(
        self, customer: CustomerRef, *, deadline: Deadline | None = None
    ) -> CustomerDetails:
        found = await self.api.member(_number(customer.key, "member"), deadline=deadline)
        return member_details(found)

    async def _member_or_none(
        self, customer: CustomerRef, deadline: Deadline
    ) -> MemberWithBalance | None:
        try:
            return await self.api.member(_number(customer.key, "member"), deadline=deadline)
        except CredentialsRejected:
            raise
        except LoyaltyApiError as exc:
            log.info("balance not read, shown without it: %s", exc)
            return None

    async def _balance_after(
        self, given: CreditBalance | None, customer: CustomerRef, deadline: Deadline
    ) -> int | None:
        # the 2021 answer may or may not carry the balance; else read the member
        if given is not None:
            return given.balance
        try:
            return await self.balance(customer, deadline=deadline)
        except LoyaltyApiError as exc:
            # the write has landed: no failure of this read (not even a revoked key) may
            # turn it into an error, or the outbox would send the write again
            log.info("balance after the change not read, shown without it: %s", exc)
            return None

    async def open_pos_transaction(
        self, sale_id: str, amount: Decimal, *, deadline: Deadline | None = None
    ) -> str | None:
        return None  # v1 has no POS transactions

    async def award_credits(
        self,
        customer: CustomerRef,
        amount: Decimal,
        *,
        sale_id: str,
        operation_id: str,
        pos_transaction: str | None = None,
        deadline: Deadline | None = None,
        **_: object,  # the orders backend's
    ) -> CreditAward:
        deadline = deadline or self.api.http.default_deadline()
        reception = await self.api.create_credit_reception(
            **_by_card_or_member(customer), purchase_amount=amount, deadline=deadline
        )
        return CreditAward(
            reception_id=str(reception.id),
            credits=reception.credits,
            balance=await self._balance_after(reception.credit_balance, customer, deadline),
            operation_id=operation_id,
            created_at=reception.created_at,
        )

    async def find_award(
        self, customer: CustomerRef, *, amount: Decimal, **_: object
    ) -> list[CreditAward]:
        raise OutcomeUnknown(
            "Register API v1 cannot tell whether an unanswered credit reception landed "
            "(no operation id or POS transaction exists in v1); a person must review it "
            "with `register-agent review`"
        )

    async def take_back_credits(
        self,
        customer: CustomerRef,
        credits: int,
        *,
        operation_id: str,
        **_: object,
    ) -> CreditAward:
        raise _no_reverse()

    async def find_reversals(
        self, customer: CustomerRef, original_id: str, *, deadline: Deadline | None = None
    ) -> list[CreditAward] | None:
        raise OutcomeUnknown(
            "Register API v1 has no reverse call, so there is no reverse to look for"
        )

    async def find_claims(
        self,
        customer: CustomerRef,
        reward_key: str,
        *,
        since: datetime,
        deadline: Deadline | None = None,
    ) -> list[RewardClaim]:
        raise OutcomeUnknown(
            "Register API v1 lists no transactions: whether an unanswered reward claim "
            "landed cannot be told; a person must review it with `register-agent review`"
        )

    async def stage_credits(
        self,
        sale_id: str,
        amount: Decimal,
        *,
        issued_at: datetime | None = None,
        deadline: Deadline | None = None,
    ) -> StagedCredits:
        # an ambiguous creation is simply created again: an unclaimed duplicate awards
        # nothing (docs/architecture.md, "Exactly once")
        staged = await self.api.create_staged_credit_reception(
            purchase_amount=amount, deadline=deadline
        )
        return StagedCredits(url=staged.url, reference=str(staged.id), credits=staged.credits)

    async def list_rewards(
        self, customer: CustomerRef, *, deadline: Deadline | None = None
    ) -> list[Reward]:
        found = await self.api.rewards(**_by_card_or_member(customer), deadline=deadline)
        rewards = [
            Reward(
                key=f"{kind}:{reward.id}",
                title=reward.title,
                required_credits=reward.required_credits,
                kind=kind,
                external_property=reward.external_property,
                stock=reward.stock,
                media_url=reward.media.value if reward.media else None,
            )
            for kind in _REWARD_TYPES
            for reward in getattr(found, kind)
            if reward.active
        ]
        return sorted(rewards, key=lambda reward: reward.required_credits)

    async def claim_reward(
        self, customer: CustomerRef, reward_key: str, *, deadline: Deadline | None = None
    ) -> RewardClaim:
        deadline = deadline or self.api.http.default_deadline()
        kind, reward_id = _reward_key(reward_key)
        claim = await self.api.create_reward_reception(
            kind, reward_id, **_by_card_or_member(customer), deadline=deadline
        )
        reward = claim.physical_reward or claim.digital_reward or claim.external_reward
        return RewardClaim(
            claim_id=str(claim.id),
            title=claim.title or (reward.title if reward and reward.title else ""),
            credits=claim.credits,
            balance=await self._balance_after(claim.credit_balance, customer, deadline),
            external_property=claim.external_property,
        )

    async def reverse_award(
        self, reception_id: str, *, deadline: Deadline | None = None
    ) -> CreditAward:
        raise _no_reverse()

    async def reverse_claim(
        self, claim_id: str, *, deadline: Deadline | None = None
    ) -> CreditAward:
        raise _no_reverse()


def _reward_key(key: str) -> tuple[RewardType, int]:
    kind, _, number = key.partition(":")
    for reward_type in _REWARD_TYPES:
        if kind == reward_type:
            return reward_type, _number(number, "reward")
    raise RequestRejected(
        f"reward {key[:40]!r} is not a v1 reward key (<type>:<id>); list the rewards again",
        status=0,
    )


def _no_reverse() -> RequestRejected:
    return RequestRejected(
        "Register API v1 has no reverse call and cannot take credits back (refunds, "
        "reversals); correct the credits in the Business Dashboard",
        status=0,
    )
