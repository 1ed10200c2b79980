"""What a sale's loyalty part says, decided once: the POS's answer (``till/loyalty_block.py``)
and the printed slip (``receipts/sale_receipt.py``) both derive their words from
``sale_outcome``, so they never tell the customer two different things.

It reads the sale's credit reception (a named customer) or staged credit reception (v1, no
customer) as the journal has it now, and what the sale's answer already said (a v3 token's
QR, credits the till already had). It needs no clock and no I/O: the bounded wait for the
credits is done before it is asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from register_agent.journal import Operation, OperationState
from register_agent.journal.results import CreditsResult, StagedCreditResult


class Said(StrEnum):
    """The one thing a sale's loyalty part says."""

    CREDITED = "credited"  # credits (and the balance, when known) are on the account
    PENDING = "pending"  # the credits are on their way: "points will be added"
    QR = "qr"  # no customer: scan the QR to collect
    NO_QR = "no_qr"  # no customer, and no QR could be made in time: say so plainly
    NOTHING = "nothing"  # nothing to promise (no loyalty, or a credit refused for good)


@dataclass(frozen=True)
class SaleOutcome:
    """What the sale's loyalty part says, with the numbers and the URL that go with it."""

    said: Said
    credits: int | None = None
    balance: int | None = None
    qr_url: str | None = None


@dataclass(frozen=True)
class Answered:
    """What the sale's answer already said about loyalty (its ``loyalty`` block)."""

    state: str = "none"
    credits: int | None = None
    balance: int | None = None
    qr_url: str | None = None

    @classmethod
    def from_stored(cls, loyalty: Mapping[str, Any]) -> Answered:
        """The answer's loyalty block as the journal keeps it (JSON): what is not a value
        of the right type counts as not said."""
        state, url = loyalty.get("state"), loyalty.get("qr_url")
        return cls(
            state=state if isinstance(state, str) else "none",
            credits=_int(loyalty.get("credits")),
            balance=_int(loyalty.get("balance")),
            qr_url=url if isinstance(url, str) and url else None,
        )


def sale_outcome(
    answered: Answered, credit: Operation | None, staged: Operation | None
) -> SaleOutcome:
    """What the sale says, from its credit (or staged credit) reception as it is now and
    what its answer said before; the operation, when there is one, has the last word."""
    if credit is not None:
        return _credit_outcome(credit)
    if staged is not None:
        return _staged_outcome(staged, answered)
    if answered.state == "credited":  # the till had the credits (their operation is gone)
        return SaleOutcome(Said.CREDITED, answered.credits, answered.balance)
    if answered.state == "pending":
        return SaleOutcome(Said.PENDING)
    if answered.qr_url is not None:  # a v3 loyalty token, minted at the counter
        return SaleOutcome(Said.QR, credits=answered.credits, qr_url=answered.qr_url)
    return SaleOutcome(Said.NOTHING)


def _credit_outcome(credit: Operation) -> SaleOutcome:
    if credit.state is OperationState.DONE:
        # no result: a person marked the credits applied (review); they are not known here
        result = credit.result_as(CreditsResult)
        if result is None:
            return SaleOutcome(Said.CREDITED)
        return SaleOutcome(Said.CREDITED, result.credits, result.balance)
    if credit.state is OperationState.DEAD:
        # Rejected for good (an unregistered card): promising points would be untrue; the
        # operator sees the dead operation and its reason.
        return SaleOutcome(Said.NOTHING)
    # pending, in flight, unknown, in review (a person will settle it either way), or
    # exported to a replacement till that will deliver it
    return SaleOutcome(Said.PENDING)


def _staged_outcome(staged: Operation, answered: Answered) -> SaleOutcome:
    """The staged reception's URL once it is made; the same URL on every copy of the slip."""
    result = staged.result_as(StagedCreditResult)
    if staged.state is OperationState.DONE and result is not None and result.url:
        return SaleOutcome(Said.QR, credits=result.credits, qr_url=result.url)
    if answered.qr_url is not None:
        return SaleOutcome(Said.QR, credits=answered.credits, qr_url=answered.qr_url)
    return SaleOutcome(Said.NO_QR)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
