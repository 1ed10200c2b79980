"""``GiftcardService`` on Register API v1: integer ids, and ``amount`` in cents on
transactions."""

from __future__ import annotations

from pydantic import TypeAdapter

from register_agent.errors import RequestRejected
from register_agent.loyalty.giftcards import Giftcard, GiftcardTransaction, expiry, maybe_landed
from register_agent.loyalty.http import RegisterHttp, parse_with
from register_agent.loyalty.models_giftcards import GiftcardTransactionV1, GiftcardV1
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v1.paths import Paths

_card = parse_with(TypeAdapter(GiftcardV1))
_transaction = parse_with(TypeAdapter(GiftcardTransactionV1))


def _giftcard(found: GiftcardV1) -> Giftcard:
    program = found.giftcard_program
    return Giftcard(
        key=str(found.id),
        hash=found.hash,
        kind=found.type or "PHYSICAL",
        active=found.active,
        upgradeable=found.upgradeable,
        balance_cents=found.amount_in_cents,
        expires_on=expiry(found.expiration_date),
        program=program.name if program else None,
    )


def _txn(found: GiftcardTransactionV1) -> GiftcardTransaction:
    return GiftcardTransaction(str(found.id), found.amount_in_cents, found.created_at)


def _id(text: str, what: str) -> int:
    if not text.isdigit():
        raise RequestRejected(f"{what} {text[:8]}... is not a v1 id", status=0)
    return int(text)


class V1Giftcards:
    """The giftcard calls over Register API v1."""

    def __init__(self, http: RegisterHttp) -> None:
        self.http = http

    def counter_deadline(self) -> Deadline:
        return self.http.counter_deadline()

    async def find_giftcard(self, card_hash: str, *, deadline: Deadline | None = None) -> Giftcard:
        params = {"hash": card_hash}
        found = await self.http.get(Paths.GIFTCARD_BY_HASH, _card, params=params, deadline=deadline)
        return _giftcard(found)

    async def giftcard_transaction(
        self, card_key: str, amount_cents: int, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        # v1 calls the amount `amount` (cents, signed); v3 renamed it amount_in_cents
        form = {"giftcard_id": _id(card_key, "giftcard"), "amount": amount_cents}
        try:
            made = await self.http.post(
                Paths.GIFTCARD_TRANSACTIONS, _transaction, form=form, deadline=deadline
            )
        except RequestRejected as exc:
            raise maybe_landed(exc, "the transaction") from exc
        return _txn(made)

    async def correct_transaction(
        self, transaction_id: str, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        path = Paths.CORRECT_GIFTCARD_TRANSACTION.format(id=_id(transaction_id, "transaction"))
        try:
            made = await self.http.post(path, _transaction, form={}, deadline=deadline)
        except RequestRejected as exc:
            raise maybe_landed(exc, "the correction") from exc
        return _txn(made)
