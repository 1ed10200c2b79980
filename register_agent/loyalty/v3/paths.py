"""The v3 Register API route set: every path the agent uses, each in one place.

Field names follow the vendor's docs: ``pos_transaction_uuid`` (the SDK's
``pos_transaction_id`` loses where the two disagree), ``contact_uuid`` required on credit
receptions, reward receptions and the reward list, as the docs and the SDK say; custom
loyalty-transaction attributes go by name.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import TypeAdapter

from register_agent.errors import AlreadyApplied, PosTransactionGone, RequestRejected
from register_agent.loyalty.forms import FormValue, segment
from register_agent.loyalty.http import RegisterHttp, parse_with
from register_agent.loyalty.outcomes import Envelope
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.tokens import LoyaltyToken
from register_agent.loyalty.v3.models import (
    OPERATION_ATTRIBUTE,
    Contact,
    ContactIdentifier,
    CreditBalance,
    CreditReception,
    LoyaltyTransaction,
    PageMeta,
    PosTransaction,
    Register,
    Reward,
    RewardReception,
    TransactionAttribute,
)

#: the 6001 guard: "the POS transaction is already linked to a credit reception"
POS_TRANSACTION_LINKED = 6001
#: "POS Transaction not found" (the docs' error list; on credit receptions and pushes)
POS_TRANSACTION_NOT_FOUND = 1027
PURCHASE_AMOUNT = "purchase_amount"


class Paths:
    """v3 paths below ``/api/v3/register``."""

    REGISTER = ""
    FIND_IDENTIFIER = "/contact-identifiers/find"
    CONTACT = "/contacts/{uuid}"
    CREDIT_BALANCE = "/contacts/{uuid}/credit-balance"
    LOYALTY_TRANSACTIONS = "/contacts/{uuid}/loyalty-transactions"
    POS_TRANSACTIONS = "/pos-transactions"
    CREDIT_RECEPTIONS = "/credit-receptions"
    REVERSE_CREDIT_RECEPTION = "/credit-receptions/{uuid}/reverse"
    REWARDS = "/rewards"
    REWARD_RECEPTIONS = "/reward-receptions"
    REVERSE_REWARD_RECEPTION = "/reward-receptions/{uuid}/reverse"
    LOYALTY_TOKENS = "/loyalty-tokens"
    # the trailing slash as the docs write this one GET (the create call has none)
    LOYALTY_TRANSACTION_ATTRIBUTES = "/loyalty-transaction-attributes/"
    # giftcards: the calls live in loyalty/v3/giftcards.py
    GIFTCARD_BY_HASH = "/giftcards/find-one-by"
    GIFTCARD_TRANSACTIONS = "/giftcard-transactions"
    CORRECT_GIFTCARD_TRANSACTION = "/giftcard-transactions/{uuid}/correct"


_register = parse_with(TypeAdapter(Register))
_identifier = parse_with(TypeAdapter(ContactIdentifier))
_contact = parse_with(TypeAdapter(Contact))
_balance = parse_with(TypeAdapter(CreditBalance))
_pos = parse_with(TypeAdapter(PosTransaction))
_reception = parse_with(TypeAdapter(CreditReception))
_rewards = parse_with(TypeAdapter(list[Reward]))
_reward_reception = parse_with(TypeAdapter(RewardReception))
_transactions_adapter = TypeAdapter(list[LoyaltyTransaction])
_meta_adapter = TypeAdapter(PageMeta)
_attributes = parse_with(TypeAdapter(list[TransactionAttribute]))


def _transactions(envelope: Envelope) -> tuple[list[LoyaltyTransaction], PageMeta]:
    return (
        _transactions_adapter.validate_python(envelope.data),
        _meta_adapter.validate_python(envelope.meta),
    )


class V3Api:
    """The v3 calls, one method each; errors are ``register_agent.errors`` classes."""

    def __init__(self, http: RegisterHttp) -> None:
        self.http = http

    async def register(self, *, deadline: Deadline | None = None) -> Register:
        return await self.http.get(Paths.REGISTER, _register, deadline=deadline)

    async def find_contact_identifier(
        self, value: str, *, deadline: Deadline | None = None
    ) -> ContactIdentifier:
        params = {"contact_identifier_value": value}
        return await self.http.get(
            Paths.FIND_IDENTIFIER, _identifier, params=params, deadline=deadline
        )

    async def contact(self, contact_uuid: str, *, deadline: Deadline | None = None) -> Contact:
        path = Paths.CONTACT.format(uuid=segment(contact_uuid))
        return await self.http.get(path, _contact, deadline=deadline)

    async def credit_balance(
        self, contact_uuid: str, *, deadline: Deadline | None = None
    ) -> CreditBalance:
        path = Paths.CREDIT_BALANCE.format(uuid=segment(contact_uuid))
        return await self.http.get(path, _balance, deadline=deadline)

    async def create_pos_transaction(
        self,
        amount_in_cents: int,
        *,
        transaction_id: str | None = None,
        terminal_id: str | None = None,
        deadline: Deadline | None = None,
    ) -> PosTransaction:
        """Not idempotent (no unique ``transaction_id`` is documented): store the uuid
        before using it."""
        form: dict[str, FormValue] = {
            "amount_in_cents": amount_in_cents,
            "transaction_id": transaction_id,
            "terminal_id": terminal_id,
        }
        return await self.http.post(Paths.POS_TRANSACTIONS, _pos, form=form, deadline=deadline)

    async def create_credit_reception(
        self,
        contact_uuid: str,
        *,
        unit_value: Decimal | None = None,
        credits: int | None = None,
        unit_name: str | None = PURCHASE_AMOUNT,
        contact_identifier_value: str | None = None,
        pos_transaction_uuid: str | None = None,
        operation_id: str | None = None,
        deadline: Deadline | None = None,
    ) -> CreditReception:
        """A credit reception; with ``pos_transaction_uuid``, 6001 means AlreadyApplied."""
        if (unit_value is None) == (credits is None):
            raise ValueError("give exactly one of unit_value and credits")
        form: dict[str, FormValue] = {
            "contact_uuid": contact_uuid,
            "unit_name": unit_name if unit_value is not None else None,
            "unit_value": unit_value,
            "credits": credits,
            "contact_identifier_value": contact_identifier_value,
            "pos_transaction_uuid": pos_transaction_uuid,
            OPERATION_ATTRIBUTE: operation_id,
        }
        try:
            return await self.http.post(
                Paths.CREDIT_RECEPTIONS, _reception, form=form, deadline=deadline
            )
        except RequestRejected as exc:
            if exc.code == POS_TRANSACTION_LINKED and pos_transaction_uuid is not None:
                # our own POS transaction already has its reception: an earlier attempt
                # of this very operation landed (docs/architecture.md, "Exactly once")
                raise AlreadyApplied(
                    f"{exc}; it was our own POS transaction, so this sale's credits were "
                    "already awarded: fetch the result by reconciliation",
                    status=exc.status,
                    code=exc.code,
                ) from exc
            if exc.code == POS_TRANSACTION_NOT_FOUND and pos_transaction_uuid is not None:
                raise PosTransactionGone(
                    f"{exc}; the sale's POS transaction no longer exists",
                    status=exc.status,
                    code=exc.code,
                    field_errors=exc.field_errors,
                ) from exc
            raise

    async def reverse_credit_reception(
        self, reception_uuid: str, *, deadline: Deadline | None = None
    ) -> CreditReception:
        # POST, as the docs have it (the SDK's GET would make a write look safe to repeat)
        path = Paths.REVERSE_CREDIT_RECEPTION.format(uuid=segment(reception_uuid))
        return await self.http.post(path, _reception, form={}, deadline=deadline)

    async def rewards(self, contact_uuid: str, *, deadline: Deadline | None = None) -> list[Reward]:
        params = {"contact_uuid": contact_uuid}
        return await self.http.get(Paths.REWARDS, _rewards, params=params, deadline=deadline)

    async def create_reward_reception(
        self,
        contact_uuid: str,
        reward_uuid: str,
        *,
        contact_identifier_value: str | None = None,
        deadline: Deadline | None = None,
    ) -> RewardReception:
        form: dict[str, FormValue] = {
            "contact_uuid": contact_uuid,
            "reward_uuid": reward_uuid,
            "contact_identifier_value": contact_identifier_value,
        }
        return await self.http.post(
            Paths.REWARD_RECEPTIONS, _reward_reception, form=form, deadline=deadline
        )

    async def reverse_reward_reception(
        self, reception_uuid: str, *, deadline: Deadline | None = None
    ) -> CreditReception:
        path = Paths.REVERSE_REWARD_RECEPTION.format(uuid=segment(reception_uuid))
        return await self.http.post(path, _reception, form={}, deadline=deadline)

    async def loyalty_transactions(
        self,
        contact_uuid: str,
        *,
        page: int = 1,
        limit: int = 100,
        kind: Literal["credit_receptions", "reward_receptions"] | None = None,
        deadline: Deadline | None = None,
    ) -> tuple[list[LoyaltyTransaction], PageMeta]:
        """One page of the contact's loyalty transactions, by documented fields (no custom
        attributes: the docs' list entries carry none)."""
        path = Paths.LOYALTY_TRANSACTIONS.format(uuid=segment(contact_uuid))
        params = {"page": page, "limit": limit, "type": kind}
        return await self.http.get(path, _transactions, params=params, deadline=deadline)

    async def loyalty_transaction_attributes(
        self, *, deadline: Deadline | None = None
    ) -> list[TransactionAttribute]:
        """The loyalty-transaction attributes the account defines.

        The registers page documents this call with no example answer; its twin in the
        client API (``/oauth/clients/loyalty-transaction-attributes``) answers
        ``{"data": [{"name", "label", "type", ...}], "meta": {}}``, and the vendor's SDK
        reads the same fields. Decision: the register call answers alike; only ``name``
        (and ``type``, when present) is read, so a richer answer changes nothing.
        """
        return await self.http.get(
            Paths.LOYALTY_TRANSACTION_ATTRIBUTES, _attributes, deadline=deadline
        )

    async def claim_loyalty_token(
        self, token: LoyaltyToken, contact_uuid: str, *, deadline: Deadline | None = None
    ) -> CreditReception:
        """What a customer's claim of a receipt's QR code does (the agent never needs it)."""
        form: dict[str, FormValue] = {**token.claim_fields(), "contact_uuid": contact_uuid}
        return await self.http.post(Paths.LOYALTY_TOKENS, _reception, form=form, deadline=deadline)
