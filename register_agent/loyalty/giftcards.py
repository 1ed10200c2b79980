"""Giftcards as the rest of the agent knows them, and the one ``GiftcardService`` interface
over Register API v1 and v3 (``v1/giftcards``, ``v3/giftcards``).

Amounts are integer cents, signed: negative pays with the card, positive tops it up. A
giftcard's hash is a bearer secret (whoever has it can spend the card): it leaves this
package only in the request that needs it, and a ``Giftcard`` shows its last 4 only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from register_agent.common.masking import safe_tail
from register_agent.errors import OutcomeUnknown, RequestRejected
from register_agent.loyalty.retries import Deadline

#: 1000 "internal error" on a giftcard transaction says nothing about whether the booking
#: was made, so a write that met it may have applied (the card's balance tells)
INTERNAL_ERROR = 1000


@dataclass(frozen=True)
class Giftcard:
    """A giftcard found by its hash. ``key`` is what transactions name it by (v1 id as
    text, v3 uuid); ``balance_cents`` None when the answer carried no balance."""

    key: str
    hash: str = field(repr=False)
    kind: str  # PHYSICAL or DIGITAL
    active: bool
    upgradeable: bool | None
    balance_cents: int | None
    expires_on: date | None
    program: str | None

    @property
    def tail(self) -> str:
        """What a cashier, a log or the journal may see of the card: its last 4."""
        return safe_tail(self.hash)

    def expired(self, today: date) -> bool:
        return self.expires_on is not None and self.expires_on < today


@dataclass(frozen=True)
class GiftcardTransaction:
    """A transaction on a card: ``transaction_id`` is the v1 id as text or the v3 uuid."""

    transaction_id: str
    amount_cents: int
    created_at: datetime | None = None


def expiry(value: str | None) -> date | None:
    """``2024-12-10`` or ``2024-12-10T16:26:20+00:00`` (both appear) as a date."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None  # an unreadable date refuses nothing here; the API decides (5002)


def maybe_landed(exc: RequestRejected, what: str) -> RequestRejected | OutcomeUnknown:
    """1000 on a giftcard write may have applied: reconcile; anything else stays final."""
    if exc.code != INTERNAL_ERROR:
        return exc
    return OutcomeUnknown(
        f"{exc}; {what} may have been booked all the same: check the card's balance",
        status=exc.status,
        code=exc.code,
    )


class GiftcardService(Protocol):
    """The giftcard calls of a till, the same for v1 and v3.

    Failures are ``NotApplied``, ``OutcomeUnknown`` or ``Rejected`` (with the API's code:
    5001 not found, 5002 expired, 5003 insufficient balance, 5006 cannot be topped up,
    5007 no program, 5008 maximum exceeded, 7010 not valid, 7015 no access, 5010
    transaction not found, 55025 not the card's last transaction).
    """

    def counter_deadline(self) -> Deadline: ...

    async def find_giftcard(self, card_hash: str, *, deadline: Deadline | None = None) -> Giftcard:
        """The card and its balance (a GET: safe to repeat)."""
        ...

    async def giftcard_transaction(
        self, card_key: str, amount_cents: int, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        """Pay (negative) or top up (positive). Not idempotent: there is no key to send."""
        ...

    async def correct_transaction(
        self, transaction_id: str, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        """Undo the card's last transaction (55025 for an older one)."""
        ...
