"""``GiftcardService`` on Register API v3: uuids, ``amount_in_cents``,
correct (the card's last transaction only), reverse, read-back and prepaid balances."""

from __future__ import annotations

from pydantic import TypeAdapter

from register_agent.errors import RequestRejected
from register_agent.loyalty.forms import FormValue, segment
from register_agent.loyalty.giftcards import Giftcard, GiftcardTransaction, expiry, maybe_landed
from register_agent.loyalty.http import RegisterHttp, parse_with
from register_agent.loyalty.models_giftcards import (
    GiftcardTransactionV3,
    GiftcardV3,
    PrepaidBalance,
    PrepaidTransaction,
)
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v3.paths import Paths

_card = parse_with(TypeAdapter(GiftcardV3))
_transaction = parse_with(TypeAdapter(GiftcardTransactionV3))
_prepaid = parse_with(TypeAdapter(PrepaidBalance))
_prepaid_transaction = parse_with(TypeAdapter(PrepaidTransaction))
_DIGITAL = 1


def _giftcard(found: GiftcardV3) -> Giftcard:
    program = found.giftcard_program
    return Giftcard(
        key=str(found.uuid),
        hash=found.hash,
        kind=found.type or "PHYSICAL",
        active=found.active,
        upgradeable=found.upgradeable,
        balance_cents=found.amount_in_cents,
        expires_on=expiry(found.expiration_date),
        program=program.name if program else None,
    )


def _txn(found: GiftcardTransactionV3) -> GiftcardTransaction:
    return GiftcardTransaction(str(found.uuid), found.amount_in_cents, found.created_at)


class V3Giftcards:
    """The giftcard and prepaid calls over Register API v3."""

    def __init__(self, http: RegisterHttp) -> None:
        self.http = http

    def counter_deadline(self) -> Deadline:
        return self.http.counter_deadline()

    async def find_giftcard(self, card_hash: str, *, deadline: Deadline | None = None) -> Giftcard:
        params = {"hash": card_hash}
        found = await self.http.get(Paths.GIFTCARD_BY_HASH, _card, params=params, deadline=deadline)
        return _giftcard(found)

    async def create_giftcard(
        self, program_key: str, *, deadline: Deadline | None = None
    ) -> Giftcard:
        form: dict[str, FormValue] = {"type": _DIGITAL, "giftcard_program_uuid": program_key}
        made = await self.http.post(Paths.GIFTCARDS, _card, form=form, deadline=deadline)
        return _giftcard(made)

    async def giftcard_transaction(
        self, card_key: str, amount_cents: int, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        form: dict[str, FormValue] = {"giftcard_uuid": card_key, "amount_in_cents": amount_cents}
        return await self._write(Paths.GIFTCARD_TRANSACTIONS, form, deadline, "the transaction")

    async def correct_transaction(
        self, transaction_id: str, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        path = Paths.CORRECT_GIFTCARD_TRANSACTION.format(uuid=segment(transaction_id))
        return await self._write(path, {}, deadline, "the correction")

    async def reverse_transaction(
        self, transaction_id: str, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        # POST, as the docs have it (the SDK's GET would make a write look safe to repeat)
        path = Paths.REVERSE_GIFTCARD_TRANSACTION.format(uuid=segment(transaction_id))
        return await self._write(path, {}, deadline, "the reversal")

    async def transaction(
        self, transaction_id: str, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        path = Paths.GIFTCARD_TRANSACTION.format(uuid=segment(transaction_id))
        return _txn(await self.http.get(path, _transaction, deadline=deadline))

    async def prepaid_balance(self, contact_key: str, *, deadline: Deadline | None = None) -> int:
        path = Paths.PREPAID_BALANCE.format(uuid=segment(contact_key))
        return (await self.http.get(path, _prepaid, deadline=deadline)).balance_in_cents

    async def prepaid_transaction(
        self, contact_key: str, amount_cents: int, *, deadline: Deadline | None = None
    ) -> int:
        form: dict[str, FormValue] = {"contact_uuid": contact_key, "amount_in_cents": amount_cents}
        made = await self.http.post(
            Paths.PREPAID_TRANSACTIONS, _prepaid_transaction, form=form, deadline=deadline
        )
        if made.prepaid_balance is None:  # the documented answer carries it; be safe
            return await self.prepaid_balance(contact_key, deadline=deadline)
        return made.prepaid_balance.balance_in_cents

    async def _write(
        self, path: str, form: dict[str, FormValue], deadline: Deadline | None, what: str
    ) -> GiftcardTransaction:
        try:
            made = await self.http.post(path, _transaction, form=form, deadline=deadline)
        except RequestRejected as exc:
            raise maybe_landed(exc, what) from exc
        return _txn(made)
