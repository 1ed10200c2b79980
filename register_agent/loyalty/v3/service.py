"""``LoyaltyService`` on the v3 Register API: contacts behind contact identifiers, POS
transactions as the guard against double awards, loyalty tokens minted on the till. How
its answers read as the till's awards, rewards and claims is ``receptions``."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import SecretStr

from register_agent.common.money import to_cents
from register_agent.config import ApiConfig
from register_agent.errors import (
    ConfigError,
    CredentialsRejected,
    LoyaltyApiError,
    OutcomeUnknown,
    RequestRejected,
)
from register_agent.loyalty.attributes import contact_details, customer_from_contact
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
from register_agent.loyalty.tokens import mint_loyalty_token
from register_agent.loyalty.v3.claim_history import claims_matching, reward_receptions
from register_agent.loyalty.v3.models import Contact, LoyaltyTransaction
from register_agent.loyalty.v3.paths import V3Api
from register_agent.loyalty.v3.receptions import (
    award_of,
    awards_matching,
    claim_of,
    reversals_of,
    reward_of,
)

log = logging.getLogger(__name__)

#: "not a card of ours": identifier not found, or a value that is not valid input at all
_NOT_A_CARD = frozenset({60003, 1003})
_INACTIVE_CARD = 60004
#: pages of 100 transactions read while looking for one operation before giving up
MAX_RECONCILE_PAGES = 20
_Kind = Literal["credit_receptions", "reward_receptions"] | None


class V3LoyaltyService:
    """The till's loyalty operations over Register API v3."""

    can_reconcile = True
    keyed_writes = False
    stages_online = False
    can_reverse = True

    def __init__(
        self, api: V3Api, config: ApiConfig, *, register: RegisterInfo | None = None
    ) -> None:
        self.api = api
        self._config = config
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
                shop_key=str(found.shop.uuid) if found.shop.uuid else "",
            )
        return self._register

    async def identify(
        self, value: str, *, deadline: Deadline | None = None, with_balance: bool = True
    ) -> Identification:
        deadline = deadline or self.api.http.default_deadline()
        try:
            found = await self.api.find_contact_identifier(value, deadline=deadline)
        except RequestRejected as exc:
            if exc.code in _NOT_A_CARD:
                return Identification(CardState.UNKNOWN, None, "not a loyalty card")
            if exc.code == _INACTIVE_CARD:
                return Identification(CardState.INACTIVE, None, "this card is inactive")
            raise
        if found.contact is None:
            return Identification(
                CardState.UNREGISTERED, None, "this card is not registered to a customer yet"
            )
        ref = CustomerRef(key=str(found.contact.uuid), card=found.value)
        customer = Customer(ref, found.contact.email or "", None)
        if not found.active:
            return Identification(CardState.INACTIVE, customer, "this card is inactive")
        if with_balance:
            # the contact rather than its credit-balance: the same one request, and the
            # custom attributes come with the balance
            contact = await self._contact_or_none(ref, deadline)
            if contact is not None:
                customer = customer_from_contact(contact, found.value)
        return Identification(CardState.ACTIVE, customer, "")

    async def balance(self, customer: CustomerRef, *, deadline: Deadline | None = None) -> int:
        found = await self.api.credit_balance(customer.key, deadline=deadline)
        return found.balance

    async def details(
        self, customer: CustomerRef, *, deadline: Deadline | None = None
    ) -> CustomerDetails:
        return contact_details(await self.api.contact(customer.key, deadline=deadline))

    async def _contact_or_none(self, customer: CustomerRef, deadline: Deadline) -> Contact | None:
        try:
            return await self.api.contact(customer.key, deadline=deadline)
        except CredentialsRejected:
            raise
        except LoyaltyApiError as exc:
            log.info("balance not read, shown without it: %s", exc)
            return None

    async def open_pos_transaction(
        self, sale_id: str, amount: Decimal, *, deadline: Deadline | None = None
    ) -> str | None:
        deadline = deadline or self.api.http.default_deadline()
        terminal = (await self.register(deadline=deadline)).identifier
        created = await self.api.create_pos_transaction(
            to_cents(amount), transaction_id=sale_id, terminal_id=terminal, deadline=deadline
        )
        return str(created.uuid)

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
        if pos_transaction is None:
            # for callers that need not survive a crash between the steps (not the outbox)
            pos_transaction = await self.open_pos_transaction(sale_id, amount, deadline=deadline)
        reception = await self.api.create_credit_reception(
            customer.key,
            unit_value=amount,
            contact_identifier_value=customer.card,
            pos_transaction_uuid=pos_transaction,
            operation_id=operation_id,
            deadline=deadline,
        )
        return award_of(reception, operation_id)

    async def find_award(
        self,
        customer: CustomerRef,
        *,
        amount: Decimal,
        since: datetime | None = None,
        deadline: Deadline | None = None,
        **_: object,  # the orders backend's
    ) -> list[CreditAward]:
        # documented fields only: no agent_operation_id in the docs' list, no single read
        shop = self._config.shop_uuid or (await self.register(deadline=deadline)).shop_key
        found = await self._transactions(customer, "credit_receptions", deadline)
        return awards_matching(found, amount, since=since, shop=shop or None)

    async def _transactions(
        self, customer: CustomerRef, kind: _Kind, deadline: Deadline | None
    ) -> list[LoyaltyTransaction]:
        entries: list[LoyaltyTransaction] = []  # all pages: the docs promise no order
        for page in range(1, MAX_RECONCILE_PAGES + 1):
            found, meta = await self.api.loyalty_transactions(
                customer.key, page=page, kind=kind, deadline=deadline
            )
            entries.extend(found)
            if page >= meta.last_page or not found:
                return entries
        raise OutcomeUnknown(f"over {MAX_RECONCILE_PAGES}00 transactions: a person must review it")

    async def take_back_credits(
        self,
        customer: CustomerRef,
        credits: int,
        *,
        operation_id: str,
        pos_transaction: str | None = None,
        deadline: Deadline | None = None,
        **_: object,  # the orders backend's
    ) -> CreditAward:
        if credits <= 0:
            raise ValueError("the credits to take back must be a positive number")
        # negative credits, by contact only: the docs' advice for a partial refund (not a
        # negative unit_value); no card, so a card disabled since the sale does not block it.
        # The refund's own POS transaction is its documented guard: a second reception on
        # it is refused with 6001 (AlreadyApplied), so a resend after a lost answer is safe
        reception = await self.api.create_credit_reception(
            customer.key,
            credits=-credits,
            pos_transaction_uuid=pos_transaction,
            operation_id=operation_id,
            deadline=deadline,
        )
        return award_of(reception, operation_id)

    async def find_reversals(
        self, customer: CustomerRef, original_id: str, *, deadline: Deadline | None = None
    ) -> list[CreditAward] | None:
        return reversals_of(original_id, await self._transactions(customer, None, deadline))

    async def stage_credits(
        self,
        sale_id: str,
        amount: Decimal,
        *,
        issued_at: datetime | None = None,
        deadline: Deadline | None = None,
    ) -> StagedCredits:
        secret = self._config.loyalty_token_secret
        if secret is None:
            raise ConfigError(
                "api.loyalty_token_secret is not set; store the account's loyalty-token "
                "secret as the systemd credential loyalty-token-secret"
            )
        register = await self.register(deadline=deadline)  # remembered: offline after once
        shop_uuid = self._config.shop_uuid or register.shop_key
        if not shop_uuid:
            raise ConfigError("api.shop_uuid is not set and the register info has no shop uuid")
        # unique across all tills of the account: the register's identifier + the sale id
        unique_id = f"{register.identifier}-{sale_id}"
        token = mint_loyalty_token(
            portal_url=self._config.loyalty_token_base_url,
            shop_uuid=shop_uuid,
            unique_id=unique_id,
            unit_value=amount,
            timestamp=int(issued_at.timestamp() if issued_at else time.time()),
            secret=secret.get_secret_value(),
        )
        return StagedCredits(url=token.url, reference=unique_id, credits=None)

    async def list_rewards(
        self, customer: CustomerRef, *, deadline: Deadline | None = None
    ) -> list[Reward]:
        found = await self.api.rewards(customer.key, deadline=deadline)
        rewards = [reward_of(reward) for reward in found if reward.is_active]
        return sorted(rewards, key=lambda reward: reward.required_credits)

    async def claim_reward(
        self, customer: CustomerRef, reward_key: str, *, deadline: Deadline | None = None
    ) -> RewardClaim:
        claim = await self.api.create_reward_reception(
            customer.key, reward_key, contact_identifier_value=customer.card, deadline=deadline
        )
        return claim_of(claim)

    async def reverse_award(
        self, reception_id: str, *, deadline: Deadline | None = None
    ) -> CreditAward:
        reversal = await self.api.reverse_credit_reception(reception_id, deadline=deadline)
        return award_of(reversal, None)

    async def reverse_claim(
        self, claim_id: str, *, deadline: Deadline | None = None
    ) -> CreditAward:
        reversal = await self.api.reverse_reward_reception(claim_id, deadline=deadline)
        return award_of(reversal, None)

    async def find_claims(
        self,
        customer: CustomerRef,
        reward_key: str,
        *,
        since: datetime,
        deadline: Deadline | None = None,
    ) -> list[RewardClaim]:
        shop = self._config.shop_uuid or (await self.register(deadline=deadline)).shop_key
        found = await reward_receptions(self.api, customer.key, deadline=deadline)
        return claims_matching(found, reward_key, since=since, shop=shop or None)
