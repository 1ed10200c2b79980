"""The sandbox's one state store, shared by the v1 and v3 routes: balances, stock, receptions.

Every change goes through :class:`Store` under its lock and is written to the ledger
(``GET /_sandbox/ledger``), which is what tests assert on. Money is ``Decimal``.
"""

from __future__ import annotations

import random
import string
import threading
import uuid
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from register_agent.sandbox.giftcard_state import GiftcardBook
from register_agent.sandbox.ledger import Ledger
from register_agent.sandbox.marketing import Marketing
from register_agent.sandbox.params import ApiError
from register_agent.sandbox.records import (
    Account,
    Collectable,
    PosTransaction,
    Staged,
    Stock,
    Transaction,
)
from register_agent.sandbox.seed import Card, Member, Register, Seed, Shop
from register_agent.sandbox.voucher_state import VoucherBook


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def credits_for(shop: Shop, amount: Decimal | int) -> int:
    """The loyalty rule: ``credits_per_unit`` per currency unit, rounded down."""
    return int((amount * shop.credits_per_unit).to_integral_value(rounding=ROUND_FLOOR))


class Store:
    """All mutable state of one sandbox; callers hold :attr:`lock` around a whole request."""

    def __init__(self, seed: Seed) -> None:
        self.seed = seed
        self.lock = threading.RLock()
        # Ids, uuids and hashes are never handed out twice, not even across resets (Piggy
        # never reuses one; a client's journal may outlive a reset). Seeded: reproducible.
        self._rng = random.Random(2021)  # noqa: S311 (a sandbox has no secrets to keep)
        self._next_id = 990_400
        self._next_staged_id = 30_200
        self._next_member_id = max((m.id for m in seed.members), default=7000)
        self._next_card_id = max((c.id for c in seed.cards), default=55000)
        self.reset()

    def reset(self) -> None:
        """Balances, stock, cards and records back to the seed; faults are the server's."""
        seed = self.seed
        self.accounts = {m.id: Account(m, m.credits, dict(m.attributes)) for m in seed.members}
        self.stock = {r.id: Stock(r, r.stock) for r in seed.rewards}
        self.transactions: list[Transaction] = []
        self.staged: list[Staged] = []
        self.pos_transactions: dict[str, PosTransaction] = {}
        # the client API's orders and returns, by their external identifiers (orders.py)
        self.orders: dict[str, dict[str, Any]] = {}
        self.order_returns: dict[str, dict[str, Any]] = {}
        # claims of pre-redeemable rewards by the reception's uuid (collectables.py); the
        # product library by external identifier (products.py)
        self.collectables: dict[str, Collectable] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.categories: dict[str, dict[str, Any]] = {}
        self.claimed_tokens: set[tuple[str, str]] = set()
        self.in_progress: set[int] = set()
        self.cards = {c.id: c for c in seed.cards}  # linking replaces a card's entry
        self.ledger = Ledger()
        # v1 marketing recipients and v3 subscriptions; recipient ids go on counting
        self.marketing = Marketing.after(getattr(self, "marketing", None))
        self.giftcards = GiftcardBook(seed, self.ledger, self.new_id, self.new_uuid)
        self.vouchers = VoucherBook(seed, self.ledger, self.new_uuid)
        #: custom attributes on loyalty-transaction list entries (POST /_sandbox/options)
        self.list_attributes = seed.list_transaction_attributes

    # ----- look-ups (None when absent: the caller picks the API's error code)

    def shop(self, register: Register) -> Shop:
        return next(s for s in self.seed.shops if s.id == register.shop_id)

    def account(self, *, id: int | None = None, uuid: str | None = None) -> Account | None:
        for account in self.accounts.values():
            if account.member.id == id or account.member.uuid == uuid:
                return account
        return None

    def account_by_email(self, email: str) -> Account | None:
        wanted = email.strip().lower()
        return next(
            (a for a in self.accounts.values() if (a.member.email or "").lower() == wanted), None
        )

    def card(self, *, id: int | None = None, hash: str | None = None) -> Card | None:
        return next((c for c in self.cards.values() if c.id == id or c.hash == hash), None)

    def card_holder(self, card: Card) -> Account | None:
        return None if card.member_id is None else self.accounts.get(card.member_id)

    def reward(self, *, id: int | None = None, uuid: str | None = None) -> Stock | None:
        for stock in self.stock.values():
            if stock.reward.id == id or stock.reward.uuid == uuid:
                return stock
        return None

    def transaction(self, *, id: int | None = None, uuid: str | None = None) -> Transaction | None:
        return next((t for t in self.transactions if t.id == id or t.uuid == uuid), None)

    # ----- identifiers

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def new_hash(self) -> str:
        return "".join(self._rng.choices(string.ascii_letters + string.digits, k=8))

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # ----- changes

    def credit(self, register: Register, api: str, credits: int, **details: Any) -> Transaction:
        """Book a credit reception (``credits`` may be negative: reverses, refunds)."""
        account: Account | None = details.pop("account", None)
        txn = Transaction(
            id=self.new_id(),
            uuid=self.new_uuid(),
            type=details.pop("type", "credit_reception"),
            credits=credits,
            account=account,
            register=register,
            api=api,
            created_at=now(),
            card=details.pop("card", None),
            **details,
        )
        if account is not None:
            account.balance += credits
            txn.balance_after = account.balance
        self.transactions.append(txn)
        return txn

    def claim_reward(
        self, register: Register, api: str, account: Account, stock: Stock, **details: Any
    ) -> Transaction:
        """Book a reward reception: checks activity, stock and balance, then takes them."""
        reward = stock.reward
        if not reward.active:
            raise ApiError(1052, "Reward is inactive.")
        if stock.left is not None and stock.left <= 0:
            raise ApiError(1018, "The stock on this reward is empty.")
        if account.balance < reward.required_credits:
            raise ApiError(1017, "Onvoldoende punten | Insufficient credits.")
        if stock.left is not None:
            stock.left -= 1
        txn = self.credit(
            register,
            api,
            -reward.required_credits,
            account=account,
            type="reward_reception",
            reward=reward,
            **details,
        )
        if reward.pre_redeemable:
            self.collectables[txn.uuid] = Collectable(txn)
        return txn

    def reverse(self, register: Register, api: str, original: Transaction) -> Transaction:
        """A counter-entry giving back (or taking back) the original's credits."""
        if original.reverses is not None or original.reversed_by is not None:
            raise ApiError(1003, "Invalid input.", errors={"uuid": ["Already reversed."]})
        if original.register.shop_id != register.shop_id:
            raise ApiError(55024, "This credit reception was not created by this shop.")
        if original.reward is not None:
            stock = self.stock[original.reward.id]
            if stock.left is not None:
                stock.left += 1
        txn = self.credit(
            register,
            api,
            -original.credits,
            account=original.account,
            card=original.card,
            reverses=original,
        )
        original.reversed_by = txn
        # decision (the docs are silent): a reversed claim has given its credits back, so
        # its reward can no longer be collected
        self.collectables.pop(original.uuid, None)
        return txn

    def stage(self, register: Register, credits: int, purchase_amount: Decimal | None) -> Staged:
        self._next_staged_id += 1
        staged = Staged(
            self._next_staged_id, self.new_hash(), credits, purchase_amount, register, now()
        )
        self.staged.append(staged)
        return staged

    def new_pos_transaction(
        self, register: Register, cents: int, transaction_id: str | None, terminal_id: str | None
    ) -> PosTransaction:
        pos = PosTransaction(self.new_uuid(), transaction_id, terminal_id, cents, register, now())
        self.pos_transactions[pos.uuid] = pos
        return pos

    def claim_staged(self, hash: str, account: Account) -> Transaction:
        staged = next((s for s in self.staged if s.hash == hash), None)
        if staged is None:
            raise ApiError(1041, "Staged Credit Reception not found.")
        if staged.claimed is not None:
            raise ApiError(1034, "Staged credit reception is already redeemed.")
        staged.claimed = self.credit(
            staged.register, "v1", staged.credits, account=account, amount=staged.purchase_amount
        )
        return staged.claimed

    def add_member(self, email: str | None) -> Account:
        """A new member / contact (``email`` None: an anonymous contact), balance 0."""
        self._next_member_id += 1
        member = Member(id=self._next_member_id, uuid=self.new_uuid(), email=email, credits=0)
        self.accounts[member.id] = account = Account(member, 0)
        return account

    def add_card(self, hash: str, name: str | None, holder: Account | None) -> Card:
        self._next_card_id += 1
        card = Card(id=self._next_card_id, hash=hash, name=name or hash, member_id=None)
        self.cards[card.id] = card
        return self.link(card, holder)

    def set_email(self, account: Account, email: str) -> Account:
        """An anonymous contact claimed with ``email`` (the member record is frozen)."""
        account.member = account.member.model_copy(update={"email": email})
        return account

    def delete_card(self, card: Card) -> None:
        self.cards.pop(card.id, None)

    def link(self, card: Card, holder: Account | None) -> Card:
        """Link ``card`` to ``holder`` (None: unlink); returns the card as it is now."""
        member_id = holder.member.id if holder else None
        self.cards[card.id] = linked = card.model_copy(update={"member_id": member_id})
        return linked
