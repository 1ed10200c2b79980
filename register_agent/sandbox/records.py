"""What the sandbox's store keeps besides the seed: accounts and their balances, reward
stock, credit and reward receptions, v1 staged receptions (a receipt's QR) and v3 POS
transactions. The store (``state.py``) changes them; the ledger (``ledger.py``) writes a row
for each change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from register_agent.sandbox.seed import Card, Member, Register, Reward


@dataclass
class Account:
    """A member (v3: contact) and the balance that moves with receptions."""

    member: Member
    balance: int
    attributes: dict[str, str] = field(default_factory=dict)  # custom ones, changeable


@dataclass
class Stock:
    """A reward and how many are left (``None``: unlimited)."""

    reward: Reward
    left: int | None


@dataclass
class Transaction:
    """A credit reception or reward reception: v1 sees ``id``, v3 sees ``uuid``."""

    id: int
    uuid: str
    type: str  # "credit_reception" | "reward_reception"
    credits: int
    account: Account | None
    card: Card | None
    register: Register
    api: str
    created_at: str
    amount: Decimal | None = None  # v1 purchase_amount / v3 unit_value
    unit_name: str | None = None
    pos_transaction: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    reward: Reward | None = None
    reverses: Transaction | None = None
    reversed_by: Transaction | None = None
    balance_after: int = 0


@dataclass
class Collectable:
    """A claim of a pre-redeemable reward: its credits taken at the claim, the reward
    waiting at the shop until collected (the collection can be reversed: waiting again)."""

    reception: Transaction
    collected: bool = False


@dataclass
class Staged:
    """A v1 staged credit reception: printed as a QR, claimed once by a customer."""

    id: int
    hash: str
    credits: int
    purchase_amount: Decimal | None
    register: Register
    created_at: str
    claimed: Transaction | None = None


@dataclass
class PosTransaction:
    """A v3 POS transaction: linked to at most one credit reception (else 6001)."""

    uuid: str
    transaction_id: str | None
    terminal_id: str | None
    amount_in_cents: int
    register: Register
    created_at: str
    linked: Transaction | None = None
