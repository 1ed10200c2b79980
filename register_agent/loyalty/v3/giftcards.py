"""``GiftcardService`` on Register API v3: uuids, ``amount_in_cents``, and correct (the
card's last transaction only)."""

from __future__ import annotations

from pydantic import TypeAdapter

from register_agent.errors import RequestRejected
from register_agent.loyalty.forms import FormValue, segment
from register_agent.loyalty.giftcards import Giftcard, GiftcardTransaction, expiry, maybe_landed
from register_agent.loyalty.http import RegisterHttp, parse_with
from register_agent.loyalty.models_giftcards import GiftcardTransactionV3, GiftcardV3
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v3.paths import Paths

_card = parse_with(TypeAdapter(GiftcardV3))
_transaction = parse_with(TypeAdapter(GiftcardTransactionV3))


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
    """The giftcard calls over Register API v3."""

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
        form: dict[str, FormValue] = {"giftcard_uuid": card_key, "amount_in_cents": amount_cents}
        return await self._write(Paths.GIFTCARD_TRANSACTIONS, form, deadline, "the transaction")

    async def correct_transaction(
        self, transaction_id: str, *, deadline: Deadline | None = None
    ) -> GiftcardTransaction:
        path = Paths.CORRECT_GIFTCARD_TRANSACTION.format(uuid=segment(transaction_id))
        return await self._write(path, {}, deadline, "the correction")

    async def _write(
        self, path: str, form: dict[str, FormValue], deadline: Deadline | None, what: str
    ) -> GiftcardTransaction:
        try:
            made = await self.http.post(path, _transaction, form=form, deadline=deadline)
        except RequestRejected as exc:
            raise maybe_landed(exc, what) from exc
        return _txn(made)
