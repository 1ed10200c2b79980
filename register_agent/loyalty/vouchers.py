"""Vouchers at the counter, each call under the key the docs give it (docs/register-api.md,
"The client API at the counter"): find and redeem are Register API routes (the register's
API key, ``RegisterHttp``); lock and release exist only on the client API (the account's
personal access token, ``ClientApiHttp``). The counter's voucher desk and the outbox's
voucher handler are the callers; both connections are the ones every other call uses.

Vouchers are a v3 feature (``/api/v3/register/vouchers``): a v1 till has none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import TypeAdapter

from register_agent.config import ApiConfig
from register_agent.loyalty.client_http import ClientApiHttp
from register_agent.loyalty.forms import segment
from register_agent.loyalty.http import RegisterHttp, parse_with
from register_agent.loyalty.orders.models import Voucher, VoucherLock
from register_agent.loyalty.retries import Deadline

_VOUCHER = parse_with(TypeAdapter(Voucher))
_LOCK = parse_with(TypeAdapter(VoucherLock))

#: the shop a redemption is booked at: ``api.shop_uuid``, or the register's own shop
ShopUuid = Callable[[Deadline | None], Awaitable[str]]


class Vouchers:
    """Find, lock, release and redeem a voucher. Failures are ``register_agent.errors``'
    (a refused voucher is a ``RequestRejected`` with Leat's code: 80004 not found, 80005
    redeemed, 80006 expired, 80012 deactivated, 80014 inactive, 80017 locked)."""

    def __init__(self, register: RegisterHttp, client: ClientApiHttp, shop_uuid: ShopUuid) -> None:
        self._register = register
        self._client = client
        self._shop_uuid = shop_uuid

    def counter_deadline(self) -> Deadline:
        return self._register.counter_deadline()

    async def find(self, code: str, *, deadline: Deadline | None = None) -> Voucher:
        """``GET /vouchers/find``: the voucher and what it is worth (name, attributes)."""
        return await self._register.get(
            "/vouchers/find", _VOUCHER, params={"code": code}, deadline=deadline
        )

    async def lock(self, voucher_uuid: str, *, deadline: Deadline | None = None) -> VoucherLock:
        """``POST /vouchers/{uuid}/lock`` (client API): the release key that redeems or
        releases it; Leat releases it by itself after an hour."""
        path = f"/vouchers/{segment(voucher_uuid)}/lock"
        return await self._client.post(path, _LOCK, json={}, deadline=deadline)

    async def release(
        self, voucher_uuid: str, release_key: str, *, deadline: Deadline | None = None
    ) -> VoucherLock:
        path = f"/vouchers/{segment(voucher_uuid)}/release"
        body = {"release_key": release_key}
        return await self._client.post(path, _LOCK, json=body, deadline=deadline)

    async def redeem(
        self,
        code: str,
        *,
        release_key: str | None,
        contact_uuid: str | None,
        deadline: Deadline | None = None,
    ) -> Voucher:
        """``POST /vouchers/redeem`` with the lock's release key ("when using locked
        Vouchers, you should send in your release_key"). ``contact_uuid`` only for a
        voucher that names no contact (a flyer's): the docs require it then."""
        form: dict[str, str] = {"code": code, "shop_uuid": await self._shop_uuid(deadline)}
        if release_key is not None:
            form["release_key"] = release_key
        if contact_uuid is not None:
            form["contact_uuid"] = contact_uuid
        return await self._register.post("/vouchers/redeem", _VOUCHER, form=form, deadline=deadline)

    async def aclose(self) -> None:
        await self._register.aclose()
        await self._client.aclose()


def make_vouchers(api: ApiConfig, shop_uuid: ShopUuid) -> Vouchers | None:
    """The vouchers of a v3 (or orders) till with the account's token; None otherwise (the
    local API's voucher routes then say what is missing)."""
    if api.version == "v1" or api.personal_access_token is None:
        return None
    return Vouchers(RegisterHttp(api), ClientApiHttp(api), shop_uuid)
