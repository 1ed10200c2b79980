"""The sandbox's giftcards and prepaid balances: part of the one state store, changed only
under its lock, every change a ledger row (tests compare the till's receipts with these).

Amounts are integer cents, as in v3 (``amount_in_cents``); v1 sends the same number as
``amount``. The rules are the documented ones (the giftcard rows of docs/register-api.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from register_agent.sandbox.params import ApiError, invalid
from register_agent.sandbox.seed import Giftcard, GiftcardProgram, Register, Seed

if TYPE_CHECKING:
    from register_agent.sandbox.ledger import Ledger


# bilingual, as Piggy words them (which is why clients match on the code, never the text)
_CANNOT_TOP_UP = (
    "Deze giftcard kan niet opgewaardeerd worden. | This giftcard cannot be incremented."
)
_INSUFFICIENT = "Het bedrag op de kaart is niet toereikend. | Insufficient amount on giftcard."


@dataclass
class Card:
    """A giftcard and its balance; ``loaded``: a DIGITAL card had its one load already."""

    seed: Giftcard
    balance: int
    loaded: bool
    transactions: list[GiftcardTxn] = field(default_factory=list)

    @property
    def program(self) -> int | None:
        return self.seed.program_id


@dataclass
class GiftcardTxn:
    """A giftcard transaction: v1 sees ``id``, v3 ``uuid``; ``amount`` in cents, signed."""

    id: int
    uuid: str
    card: Card
    amount: int
    register: Register
    api: str
    created_at: str
    balance_after: int
    corrects: GiftcardTxn | None = None
    reversed_by: GiftcardTxn | None = None


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _expired(card: Giftcard, today: date) -> bool:
    return card.expiration_date is not None and date.fromisoformat(card.expiration_date) < today


class GiftcardBook:
    """Every giftcard, its transactions, and the contacts' prepaid balances (cents)."""

    def __init__(
        self, seed: Seed, ledger: Ledger, new_id: Callable[[], int], new_uuid: Callable[[], str]
    ) -> None:
        self.programs = {p.id: p for p in seed.giftcard_programs}
        self.cards = {
            g.id: Card(g, g.balance_cents, loaded=g.balance_cents > 0) for g in seed.giftcards
        }
        self.transactions: list[GiftcardTxn] = []
        self.prepaid: dict[int, int] = {}  # member id -> cents
        self._ledger = ledger
        self._new_id = new_id
        self._new_uuid = new_uuid
        self._next_card_id = max((g.id for g in seed.giftcards), default=41000)

    # ----- look-ups

    def card(
        self, *, id: int | None = None, uuid: str | None = None, hash: str | None = None
    ) -> Card:
        for card in self.cards.values():
            if card.seed.id == id or card.seed.uuid == uuid or card.seed.hash == hash:
                return card
        raise ApiError(5001, "Giftcard not found.")

    def transaction(self, *, id: int | None = None, uuid: str | None = None) -> GiftcardTxn:
        for txn in self.transactions:
            if txn.id == id or txn.uuid == uuid:
                return txn
        raise ApiError(5010, "Giftcard transaction not found.")

    def program(self, *, id: int | None = None, uuid: str | None = None) -> GiftcardProgram:
        for program in self.programs.values():
            if program.id == id or program.uuid == uuid:
                return program
        raise ApiError(1100, "Giftcard Program not found.")

    def maximum(self, card: Card) -> int | None:
        program = self.programs.get(card.program) if card.program is not None else None
        limits = [card.seed.max_amount_cents, program.max_amount_cents if program else None]
        present = [limit for limit in limits if limit is not None]
        return min(present) if present else None

    # ----- changes

    def create(self, register: Register, api: str, program: GiftcardProgram) -> Card:
        """A new DIGITAL card with nothing on it (the only kind the API may create)."""
        self._next_card_id += 1
        seed = Giftcard(
            id=self._next_card_id,
            uuid=self._new_uuid(),
            hash=f"GC{self._new_id():08d}",
            balance_cents=0,
            program_id=program.id,
            type="DIGITAL",
        )
        self.cards[seed.id] = card = Card(seed, 0, loaded=False)
        self._ledger.record(
            "giftcard_created",
            register,
            api,
            giftcard={"id": seed.id, "uuid": seed.uuid},
            hash=seed.hash,
            program_id=program.id,
        )
        return card

    def spend_or_load(self, register: Register, api: str, card: Card, amount: int) -> GiftcardTxn:
        """A transaction as the POS sends it: every rule of the API applies."""
        if amount == 0:
            field_name = "amount" if api == "v1" else "amount_in_cents"
            raise invalid(field_name, f"The {field_name.replace('_', ' ')} may not be 0.")
        self._usable(register, card)
        once = card.seed.type == "DIGITAL" and card.loaded  # a digital card loads once
        if amount > 0 and (not card.seed.upgradeable or once):
            raise ApiError(5006, _CANNOT_TOP_UP)
        txn = self._book(register, api, card, amount)
        if amount > 0:
            card.loaded = True
        self._ledger_row("giftcard_transaction", txn)
        return txn

    def correct(self, register: Register, api: str, original: GiftcardTxn) -> GiftcardTxn:
        """Undo the card's last transaction (55025 for any older one)."""
        card = original.card
        if card.transactions[-1] is not original:
            raise ApiError(55025, "This is not the giftcards last transaction.")
        self._usable(register, card)
        txn = self._book(register, api, card, -original.amount, corrects=original)
        self._ledger_row("giftcard_correction", txn, corrects=original.uuid)
        return txn

    def reverse(self, register: Register, api: str, original: GiftcardTxn) -> GiftcardTxn:
        """A counter-transaction for any transaction, once (v3)."""
        if original.reversed_by is not None or original.corrects is not None:
            raise invalid("giftcard_transaction_uuid", "The transaction was already reversed.")
        self._usable(register, original.card)
        txn = self._book(register, api, original.card, -original.amount, corrects=original)
        original.reversed_by = txn
        self._ledger_row("giftcard_reversal", txn, reverses=original.uuid)
        return txn

    def prepaid_move(self, register: Register, member_id: int, amount: int) -> int:
        """A prepaid transaction; the new balance. Decision (docs silent): a contact's
        prepaid balance cannot go below zero: 1003 on ``amount_in_cents``."""
        if amount == 0:
            raise invalid("amount_in_cents", "The amount in cents may not be 0.")
        balance = self.prepaid.get(member_id, 0) + amount
        if balance < 0:
            raise invalid("amount_in_cents", "The prepaid balance is insufficient.")
        self.prepaid[member_id] = balance
        return balance

    def _usable(self, register: Register, card: Card) -> None:
        if not card.seed.active:
            raise ApiError(7010, "Giftcard is not valid.")
        if card.program is None:
            raise ApiError(5007, "Giftcard does not belong to a giftcard program.")
        program = self.programs[card.program]
        if program.shop_ids and register.shop_id not in program.shop_ids:
            raise ApiError(7015, "This shop has no access to the giftcard program.")
        if _expired(card.seed, datetime.now(UTC).date()):
            raise ApiError(5002, "Het bedrag op de kaart is verlopen. | This giftcard has expired.")

    def _book(
        self,
        register: Register,
        api: str,
        card: Card,
        amount: int,
        corrects: GiftcardTxn | None = None,
    ) -> GiftcardTxn:
        balance = card.balance + amount
        if balance < 0:
            raise ApiError(5003, _INSUFFICIENT)
        maximum = self.maximum(card)
        if amount > 0 and maximum is not None and balance > maximum:
            raise ApiError(5008, "Maximale limiet op kaart bereikt. | Max amount will be exceeded.")
        card.balance = balance
        txn = GiftcardTxn(
            self._new_id(),
            self._new_uuid(),
            card,
            amount,
            register,
            api,
            _now(),
            balance,
            corrects=corrects,
        )
        card.transactions.append(txn)
        self.transactions.append(txn)
        return txn

    def _ledger_row(self, kind: str, txn: GiftcardTxn, **extra: object) -> None:
        card = txn.card.seed
        self._ledger.record(
            kind,
            txn.register,
            txn.api,
            id=txn.id,
            uuid=txn.uuid,
            giftcard={"id": card.id, "uuid": card.uuid, "hash": card.hash},
            amount_in_cents=txn.amount,
            balance_after_cents=txn.balance_after,
            **extra,
        )
