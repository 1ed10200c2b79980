"""What each kind of outbox operation brought back once done: one model per kind, written
by the outbox's handler, read by the sale's answer, the receipt and a later refund.

Stored as JSON like the payloads (``payloads.StoredJson``): the same keys and values the
agent always wrote. An operation a person marked applied (``register-agent review``) has
no result at all.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

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
from register_agent.journal.payloads import StoredCustomer, StoredJson, read_stored


class Result(StoredJson):
    """An operation's result: the model of its kind, or this one for a kind this version
    does not know (its keys kept as they are)."""


class CreditsResult(Result):
    """Credits moved on a customer's account: the reception, how many, the balance after."""

    reception_id: str | None  # None: nothing was sent (a refund of nothing)
    credits: int
    balance: int | None = None  # None: not known (it could not be read in time)


class CreditReceptionResult(CreditsResult):
    """A sale's credits, and whom they went to (a refund takes them back from there)."""

    customer: StoredCustomer


class StagedCreditResult(Result):
    """v1: the staged credit reception the receipt's QR code points at."""

    url: str
    reference: str
    credits: int | None = None  # None: computed when the customer claims them


class RefundResult(CreditsResult):
    """Credits taken back (negative), and the money refunded: a later partial refund of the
    same sale counts what was taken back already."""

    amount: Decimal


class RewardClaimResult(Result):
    """What became of a claim whose answer was lost: it landed (the reward reception found,
    with what the POS is answered) or it did not (the POS may claim it again)."""

    applied: bool
    reception_id: str | None = None
    title: str = ""
    credits: int = 0  # negative: what the reward cost
    balance: int | None = None
    external_property: str | None = None
    code: str | None = None  # a digital reward's code


class VoucherResult(Result):
    """What became of a locked voucher: redeemed with its sale, or released."""

    outcome: Literal["redeemed", "released"]
    name: str
    code: str  # its last four characters, no more


class CollectionResult(Result):
    """A collection done or reversed: the API's status (COLLECTED, REVERSED; None when a
    reconciliation found it in the contact's list instead)."""

    collectable_id: str
    status: str | None = None


#: every kind's result model (a reverse_claim gives back credits and says no more)
RESULTS: dict[str, type[Result]] = {
    CREDIT_RECEPTION: CreditReceptionResult,
    STAGED_CREDIT_RECEPTION: StagedCreditResult,
    REFUND: RefundResult,
    REVERSE_CLAIM: CreditsResult,
    REWARD_CLAIM: RewardClaimResult,
    VOUCHER: VoucherResult,
    COLLECT_REWARD: CollectionResult,
    REVERSE_COLLECTION: CollectionResult,
}


def credits_moved(result: Result | None) -> int | None:
    """The credits an operation moved, whatever its kind; None when not known."""
    if isinstance(result, CreditsResult | StagedCreditResult):
        return result.credits
    return None


def read_result(kind: str, text: str | None) -> Result | None:
    if not text:
        return None
    return read_stored(RESULTS.get(kind, Result), Result, text)
