"""What the rest of the agent knows of loyalty: customers, awards, rewards, and the one
``LoyaltyService`` interface over both Register API versions.

The till, the outbox and the local API use only these types; whether a customer is a v1
member behind a loyalty card or a v3 contact behind a contact identifier stays inside
``register_agent.loyalty``. Every method raises only ``register_agent.errors`` classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from pydantic import SecretStr

from register_agent.loyalty.retries import Deadline


class CardState(StrEnum):
    """What a scanned value turned out to be."""

    ACTIVE = "active"  # a card of a registered customer, usable
    UNKNOWN = "unknown"  # not a loyalty card of this program (maybe a product barcode)
    UNREGISTERED = "unregistered"  # a card nobody has registered yet
    INACTIVE = "inactive"  # a card that is not activated or was disabled


@dataclass(frozen=True, repr=False)
class CustomerRef:
    """How the API names a customer; plain strings, so the journal can store it.

    ``key`` is the v1 member id or the v3 contact uuid; ``card`` the v1 loyalty card id or
    the v3 contact identifier value the customer was scanned with (None without a card).
    """

    key: str
    card: str | None = None

    def __repr__(self) -> str:
        # a card value is never logged in full: its first four characters tell enough
        card = f"…{self.card[-4:]}" if self.card else None
        return f"CustomerRef(key={self.key!r}, card={card!r})"


@dataclass(frozen=True)
class Customer:
    ref: CustomerRef
    display: str  # for the POS screen (the e-mail the program knows, or "")
    balance: int | None  # credits; None when the balance could not be read in time
    #: the custom attributes the account defines (first name, tier, birthday...), as text;
    #: personal data: never in a repr, a log line or the journal (``loyalty.attributes``)
    attributes: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class CustomerDetails:
    """What a scan shows beside the customer: the balance and the custom attributes."""

    balance: int | None  # None: the answer carried no balance
    attributes: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Identification:
    """The answer to a scan: a usable customer, or the reason there is none."""

    state: CardState
    customer: Customer | None
    reason: str  # a short sentence for the cashier

    @property
    def usable(self) -> bool:
        return self.state is CardState.ACTIVE and self.customer is not None


@dataclass(frozen=True)
class CreditAward:
    """A credit reception: a sale's credits (or a reversal, with negative credits)."""

    reception_id: str  # v1 integer id as text, v3 uuid
    credits: int
    balance: int | None  # the customer's balance afterwards, when known
    operation_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class SaleLine:
    """An article of a sale as the POS sent it: the orders backend's line item."""

    text: str
    amount: Decimal  # the line's total in currency units; negative: a discount
    product: str | None = None  # the POS's product identifier (the product library's key)
    quantity: int = 1


@dataclass(frozen=True)
class StagedCredits:
    """Credits waiting for a customer without a card: the receipt prints ``url`` as a QR."""

    url: str
    reference: str  # v1 staged reception id, v3 token unique_id
    credits: int | None  # v1 says how many; a v3 token's credits are computed on claim


@dataclass(frozen=True)
class Reward:
    key: str  # what claim_reward takes: v1 "<type>:<id>", v3 the reward uuid
    title: str
    required_credits: int
    kind: str  # physical, digital or external
    external_property: str | None = None  # e.g. the PLU the till applies
    stock: int | None = None  # None: unlimited or not reported
    media_url: str | None = None  # the reward's picture, for the POS's list
    pre_redeemable: bool = False  # a claim is a collectable reward, collected with a sale


@dataclass(frozen=True)
class RewardClaim:
    claim_id: str
    title: str
    credits: int  # negative: what the claim cost
    balance: int | None
    external_property: str | None = None
    code: str | None = None  # a digital reward's code, the customer's to use
    collectable: bool = False  # pre-redeemable: a collectable reward, ``claim_id`` its uuid


@dataclass(frozen=True)
class RegisterInfo:
    """Who the API key is: register name and identifier, and its shop."""

    name: str
    identifier: str
    shop_name: str
    shop_key: str  # v1 shop id as text, v3 shop uuid (signs loyalty tokens)


class LoyaltyService(Protocol):
    """The loyalty operations of a till, the same for Register API v1 and v3.

    ``deadline`` bounds a call, inline retries included (``Deadline.after(
    api.counter_deadline_s)`` at the counter); None gives one connection plus one answer.
    Failures are ``NotApplied``, ``OutcomeUnknown``, ``AlreadyApplied`` or ``Rejected``.
    """

    #: whether find_award can tell if an ambiguous award landed (v3 yes, v1 no)
    can_reconcile: bool
    #: whether every write carries a key the server refuses twice (orders: external ids):
    #: a lost award is found by it (``find_award(key=)``), a lost return sent again
    keyed_writes: bool
    #: whether stage_credits needs the API (v1 yes; v3 mints a token locally)
    stages_online: bool
    #: whether credits and reward claims can be taken back: reverse_award,
    #: take_back_credits and reverse_claim (v3 yes; v1 has no reverse call)
    can_reverse: bool

    def counter_deadline(self) -> Deadline:
        """A fresh deadline for a call a cashier waits for (``api.counter_deadline_s``)."""
        ...

    def use_api_key(self, api_key: SecretStr) -> None:
        """Send ``api_key`` from now on (a reload with a new key; nothing is reconnected)."""
        ...

    async def register(self, *, deadline: Deadline | None = None) -> RegisterInfo:
        """Who this key is; fetched once, then remembered."""
        ...

    async def identify(
        self, value: str, *, deadline: Deadline | None = None, with_balance: bool = True
    ) -> Identification:
        """Look a scanned value up; a non-card value is ``CardState.UNKNOWN``, not an error.

        ``with_balance=False`` skips the balance read (one request less) where only the
        customer is wanted: the outbox resolving a card scanned offline."""
        ...

    async def balance(self, customer: CustomerRef, *, deadline: Deadline | None = None) -> int: ...

    async def details(
        self, customer: CustomerRef, *, deadline: Deadline | None = None
    ) -> CustomerDetails:
        """Balance and custom attributes in one read (v1 the member, v3 the contact): what
        the till shows after a scan, for the request ``balance`` would cost anyway."""
        ...

    async def open_pos_transaction(
        self, sale_id: str, amount: Decimal, *, deadline: Deadline | None = None
    ) -> str | None:
        """Step 1 of an award: v3 creates the sale's POS transaction and returns its uuid,
        which the outbox stores before step 2; v1 has none and returns None."""
        ...

    async def award_credits(
        self,
        customer: CustomerRef,
        amount: Decimal,
        *,
        sale_id: str,
        operation_id: str,
        pos_transaction: str | None = None,
        lines: Sequence[SaleLine] = (),
        deadline: Deadline | None = None,
    ) -> CreditAward:
        """Step 2: credit the customer for a sale of ``amount`` (currency units). v3 links
        the reception to ``pos_transaction`` (created here when None), stores
        ``operation_id`` in ``agent_operation_id``; orders send ``lines`` as the line items
        of the order ``pos_transaction`` names. AlreadyApplied: an earlier attempt landed."""
        ...

    async def find_award(
        self,
        customer: CustomerRef,
        *,
        amount: Decimal,
        since: datetime | None = None,
        key: str | None = None,
        deadline: Deadline | None = None,
    ) -> list[CreditAward]:
        """Reconciliation: orders, the order whose external identifier is ``key``; v3, of
        a sale credited already (6001), the customer's credit receptions that may be it (a
        sale of ``amount`` from ``since`` on), by documented fields. v1: OutcomeUnknown."""
        ...

    async def stage_credits(
        self,
        sale_id: str,
        amount: Decimal,
        *,
        issued_at: datetime | None = None,
        deadline: Deadline | None = None,
    ) -> StagedCredits:
        """Credits for a customer without a card, claimed later through the URL's QR."""
        ...

    async def list_rewards(
        self, customer: CustomerRef, *, deadline: Deadline | None = None
    ) -> list[Reward]:
        """Active rewards the customer can see, cheapest first."""
        ...

    async def claim_reward(
        self, customer: CustomerRef, reward_key: str, *, deadline: Deadline | None = None
    ) -> RewardClaim: ...

    async def reverse_award(
        self, reception_id: str, *, deadline: Deadline | None = None
    ) -> CreditAward:
        """Undo a credit reception (v3; v1 has no reverse call: RequestRejected)."""
        ...

    async def take_back_credits(
        self,
        customer: CustomerRef,
        credits: int,
        *,
        operation_id: str,
        pos_transaction: str | None = None,
        original: str | None = None,
        amount: Decimal | None = None,
        deadline: Deadline | None = None,
    ) -> CreditAward:
        """A partial refund: v3, a credit reception of ``-credits`` (> 0) linked to the
        refund's own ``pos_transaction``; orders, a return of ``amount`` of the order
        ``original`` (AlreadyApplied: an earlier attempt landed); v1: RequestRejected."""
        ...

    async def find_reversals(
        self, customer: CustomerRef, original_id: str, *, deadline: Deadline | None = None
    ) -> list[CreditAward] | None:
        """Reconciliation of a reverse: the customer's counter-entries that may reverse the
        reception or claim ``original_id``; None when the original is not among the
        customer's transactions. OutcomeUnknown when that cannot be told (always in v1)."""
        ...

    async def reverse_claim(
        self, claim_id: str, *, deadline: Deadline | None = None
    ) -> CreditAward:
        """Undo a reward claim, giving the credits back (v3; v1: RequestRejected)."""
        ...

    async def find_claims(
        self,
        customer: CustomerRef,
        reward_key: str,
        *,
        since: datetime,
        deadline: Deadline | None = None,
    ) -> list[RewardClaim]:
        """Reconciliation of a claim whose answer was lost: the customer's claims that may
        be it (this reward, this shop, from ``since`` on), told by the documented fields of
        the loyalty transactions. OutcomeUnknown when that cannot be told (always in v1)."""
        ...

    async def aclose(self) -> None: ...
