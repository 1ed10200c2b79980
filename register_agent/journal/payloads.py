"""What each kind of outbox operation carries: one model per kind, written by the till and
read (and completed step by step) by the outbox's handler of that kind.

A payload is stored as JSON text with the keys and values the agent always wrote, so a
journal written before these models reads back unchanged. Amounts the POS sent stay the
decimal strings they were: the handler parses them when it delivers, so a malformed one
makes a dead operation with its reason instead of a row that cannot be read.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from register_agent.journal.kinds import (
    COLLECT_REWARD,
    CREDIT_RECEPTION,
    REFUND,
    REVERSE_CLAIM,
    REVERSE_COLLECTION,
    REWARD_CLAIM,
    STAGED_CREDIT_RECEPTION,
    VOUCHER,
)


class StoredJson(BaseModel):
    """A JSON object of the journal, as a typed model.

    Keys this version does not know are kept (``extra="allow"``), and only the keys that
    were read or set are written back (``exclude_unset``): a row goes back exactly as it
    came, whichever version of the agent wrote it.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


Stored = TypeVar("Stored", bound=StoredJson)


def read_stored(model: type[Stored], fallback: type[Stored], text: str) -> Stored:
    """``text`` as ``model``; as ``fallback`` (every key kept) when it does not fit, so one
    odd row never stops the journal from reading the others."""
    data = json.loads(text)
    try:
        return model.model_validate(data)
    except ValidationError:
        return fallback.model_validate(data)


def problems(error: ValidationError) -> str:
    """What does not fit, by field: never the values (a payload may hold a card value)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'payload'}: {problem['msg']}"
        for problem in error.errors()
    )


class StoredCustomer(StoredJson):
    """A customer as the journal keeps one: the API's key and the card scanned, if any."""

    key: str
    card: str | None = Field(default=None, repr=False)  # cut to its last 4 once done


class Payload(StoredJson):
    """An operation's payload: the model of its kind, or this one for a kind this version
    does not know (its keys kept as they are)."""


class StoredLine(StoredJson):
    """An article of the sale as the POS sent it (text, amount, product, quantity): the
    orders backend's line items; the Register API's awards use the amount alone."""

    text: str
    amount: str  # as the POS sent it, e.g. "3.50"; negative: a discount
    product: str | None = None
    quantity: int = 1


class CreditReceptionPayload(Payload):
    """A sale's credits for a customer named, or scanned while the API was away."""

    sale_id: str
    amount: str  # the sale's amount as the POS sent it, e.g. "12.50"
    #: the sale's articles with an amount (none from an agent older than the orders backend)
    lines: tuple[StoredLine, ...] = ()
    #: known at the sale, or saved by the handler once the card is resolved
    customer: StoredCustomer | None = None
    card: str | None = Field(default=None, repr=False)  # scanned offline: resolved later
    #: v3: the POS transaction opened for the sale, saved before its credits are posted;
    #: orders: the order's external identifier, saved the same way
    pos_transaction: str | None = None
    #: the attempt that opened it: a later attempt may have posted credits with it before
    #: (None: an older agent's payload, which did not say)
    pos_transaction_attempt: int | None = None
    #: the server answered 6001 (credited already) for this sale's POS transaction
    already_applied: bool = False
    #: the server answered 1027 (no such POS transaction) after an earlier attempt may
    #: have credited the sale with it: only its operation id can tell now
    pos_transaction_gone: bool = False

    def resolved(self, customer: StoredCustomer) -> CreditReceptionPayload:
        return self.model_copy(update={"customer": customer})

    def with_pos_transaction(
        self, pos_transaction: str | None, attempt: int | None
    ) -> CreditReceptionPayload:
        return self.model_copy(
            update={"pos_transaction": pos_transaction, "pos_transaction_attempt": attempt}
        )

    def gone(self) -> CreditReceptionPayload:
        return self.model_copy(update={"pos_transaction_gone": True})

    def applied_already(self) -> CreditReceptionPayload:
        return self.model_copy(update={"already_applied": True})


class StagedCreditPayload(Payload):
    """v1: a sale without a customer, whose credits a receipt's QR code hands out."""

    sale_id: str
    amount: str


class RefundPlan(StoredJson):
    """The call a refund makes, saved in its payload before the call goes out."""

    method: Literal["reverse", "credits"]
    customer: StoredCustomer
    reception_id: str  # the sale's credit reception
    credits: int  # credits to take back (>= 0)
    amount: Decimal  # the money refunded


class RefundPayload(Payload):
    """A refunded sale's credits taken back: all of them, or a part for part of the money."""

    sale_id: str | None = None  # the sale it is journaled under
    original_operation: str  # the id of the sale's credit reception
    amount: str | None = None  # the money refunded as the POS sent it; None: the whole sale
    plan: RefundPlan | None = None
    #: v3, negative credits: the refund's own POS transaction, saved before the credits
    #: are sent, so that a resend either lands once or is answered 6001
    pos_transaction: str | None = None
    #: sent without that guard (the API refused the POS transaction, or it is gone): an
    #: unknown outcome is then for a person to decide, never sent again blind
    unguarded: bool = False
    #: negative credits planned and their POS transaction not opened yet: nothing that
    #: changes credits has gone out (the credits leave only under a saved POS transaction,
    #: or marked unguarded). False on what an older agent planned, which may have sent them
    awaiting_guard: bool = False

    def planned(self, plan: RefundPlan) -> RefundPayload:
        fresh = self.pos_transaction is None and not self.unguarded
        awaiting = fresh and plan.method == "credits"
        return self.model_copy(update={"plan": plan, "awaiting_guard": awaiting})

    def guarded_by(self, pos_transaction: str | None) -> RefundPayload:
        return self.model_copy(
            update={
                "pos_transaction": pos_transaction,
                "unguarded": pos_transaction is None,
                "awaiting_guard": False,
            }
        )


class ReverseClaimPayload(Payload):
    """A voided sale's reward claim given back (v3)."""

    claim_id: str  # the POS's claim id
    server_claim_id: str | None = None  # the API's id of the claim (None: never confirmed)


class RewardClaimPayload(Payload):
    """A reward claim whose outcome is unknown, to be found among the customer's loyalty
    transactions (``outbox/claims.py``)."""

    claim_id: str  # the POS's claim id: its row in reward_claims follows this operation
    reward_key: str
    customer: StoredCustomer
    started_at: float  # when the claim's request was about to leave (the till's clock)


class VoucherPayload(Payload):
    """A voucher locked for a sale, and what becomes of the lock. ``code`` is what redeems
    it (a bearer secret, like a card): cut to its last four once the operation is done."""

    sale_id: str  # the POS's sale the voucher is for (it may not be recorded yet)
    voucher_uuid: str
    code: str = Field(repr=False)
    name: str  # what the voucher gives, for the receipt and the POS
    release_key: str  # the lock's: redeems or releases it
    contact_uuid: str | None = None  # a voucher naming no contact is redeemed for this one
    #: when the lock is released if its sale is not recorded by then (the till's clock)
    release_at: float
    #: decided so far: "redeem" (the sale is recorded), "release" (voided, given up), or
    #: None (nothing yet: at ``release_at`` the sale's state in the journal decides)
    action: Literal["redeem", "release"] | None = None

    def deciding(self, action: Literal["redeem", "release"]) -> VoucherPayload:
        return self.model_copy(update={"action": action})


class CollectionPayload(Payload):
    """A collectable reward collected with a sale, or (on the sale's void) its collection
    reversed; the contact's list of waiting rewards settles a lost answer."""

    sale_id: str
    collectable_id: str  # the collectable reward's uuid (its claim's loyalty transaction)
    #: the contact's uuid, known at the sale (None: a card scanned offline, unresolved)
    contact: str | None = None


#: every kind's payload model: a new kind of operation is one model here and in results.py
PAYLOADS: dict[str, type[Payload]] = {
    CREDIT_RECEPTION: CreditReceptionPayload,
    STAGED_CREDIT_RECEPTION: StagedCreditPayload,
    REFUND: RefundPayload,
    REVERSE_CLAIM: ReverseClaimPayload,
    REWARD_CLAIM: RewardClaimPayload,
    VOUCHER: VoucherPayload,
    COLLECT_REWARD: CollectionPayload,
    REVERSE_COLLECTION: CollectionPayload,
}


def read_payload(kind: str, text: str) -> Payload:
    return read_stored(PAYLOADS.get(kind, Payload), Payload, text)
