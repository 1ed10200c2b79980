"""The sandbox's vouchers: part of the one state store, changed only under its lock, every
change a ledger row (``voucher_locked``, ``voucher_released``, ``voucher_redeemed``), which
is what the vouchers' tests and the fault suite count.

The rules are the docs' Vouchers page (registers section, and the client API's lock and
release): a lock answers a release key and holds the voucher LOCKED until it is released
with that key, redeemed with it, or an hour has passed ("if the lock is not released
within an hour, the lock will be released by the system automatically"); a redeemed
voucher is refused (80005) ever after. Where the page is silent the sandbox decides:

- A locked voucher is redeemed only with its lock's release key; without it (or with
  another) it is refused as locked (80017), so a voucher in one till's sale is never
  redeemed by another.
- A release repeated with the key of a lock that has ended already (released by that key
  or by the system) answers the same release again: a release whose answer was lost can
  be sent again without harm. A key the voucher never had is a 1003 naming
  ``release_key``.
- A release of a redeemed voucher is 80005, as documented (the voucher is spent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from register_agent.sandbox.params import ApiError, invalid
from register_agent.sandbox.seed_vouchers import Voucher as SeedVoucher

if TYPE_CHECKING:
    from register_agent.sandbox.ledger import Ledger
    from register_agent.sandbox.seed import Register, Seed

#: "If the lock is not released within an hour, the lock will be released by the system"
LOCK_HOLDS = timedelta(hours=1)


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat()


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass
class Lock:
    release_key: str
    locked_at: datetime
    system_release_at: datetime
    unlocked_at: datetime | None = None

    def json(self) -> dict[str, Any]:
        return {
            "release_key": self.release_key,
            "locked_at": _stamp(self.locked_at),
            "unlocked_at": _stamp(self.unlocked_at),
            # the release example shows null once the lock has ended
            "system_release_at": None if self.unlocked_at else _stamp(self.system_release_at),
        }


@dataclass
class HeldVoucher:
    seed: SeedVoucher
    contact: dict[str, Any] | None
    redeemed_at: datetime | None = None
    redemption: dict[str, Any] | None = None
    locks: list[Lock] = field(default_factory=list)

    @property
    def lock(self) -> Lock | None:
        """The lock holding the voucher now, if any."""
        last = self.locks[-1] if self.locks else None
        return last if last is not None and last.unlocked_at is None else None


class VoucherBook:
    """Every voucher of the seed and its locks and redemption."""

    def __init__(
        self,
        seed: Seed,
        ledger: Ledger,
        new_uuid: Callable[[], str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        members = {m.uuid: m for m in seed.members}
        self.vouchers: dict[str, HeldVoucher] = {}
        for voucher in seed.vouchers:
            member = members.get(voucher.contact or "")
            contact = None if member is None else {"uuid": member.uuid, "email": member.email}
            held = HeldVoucher(voucher, contact)
            if voucher.status == "REDEEMED":
                held.redeemed_at = _when(voucher.activation_date) or clock()
            self.vouchers[voucher.uuid] = held
        self._ledger = ledger
        self._new_uuid = new_uuid
        self.clock = clock

    # ----- look-ups

    def by_code(self, code: str) -> HeldVoucher:
        found = next((v for v in self.vouchers.values() if v.seed.code == code), None)
        if found is None:
            raise ApiError(80004, "Voucher not found.")
        self._expire_lock(found)
        return found

    def by_uuid(self, uuid: str) -> HeldVoucher:
        found = self.vouchers.get(uuid)
        if found is None:
            raise ApiError(80004, "Voucher not found.")
        self._expire_lock(found)
        return found

    def listed(self, status: str | None, contact_uuid: str | None) -> list[HeldVoucher]:
        for held in self.vouchers.values():
            self._expire_lock(held)
        return [
            held
            for held in self.vouchers.values()
            if (status is None or self.status(held) == status)
            and (contact_uuid is None or (held.contact or {}).get("uuid") == contact_uuid)
        ]

    def status(self, held: HeldVoucher) -> str:
        now = self.clock()
        activation, expiration = _when(held.seed.activation_date), _when(held.seed.expiration_date)
        if held.redeemed_at is not None:
            return "REDEEMED"
        if held.seed.status == "DEACTIVATED":
            return "DEACTIVATED"
        if held.seed.status == "INACTIVE" or (activation is not None and activation > now):
            return "INACTIVE"
        if expiration is not None and expiration < now:
            return "EXPIRED"
        return "LOCKED" if held.lock is not None else "ACTIVE"

    def refuse_unusable(self, held: HeldVoucher) -> None:
        """The redeem's documented refusals for a voucher that cannot be used now."""
        status = self.status(held)
        if status == "REDEEMED":
            raise ApiError(80005, "Voucher code as already been redeemed.")  # sic, the docs'
        if status == "EXPIRED":
            raise ApiError(80006, "Voucher has expired.")
        if status == "DEACTIVATED":
            raise ApiError(80012, "Voucher is deactivated.")
        if status == "INACTIVE":
            raise ApiError(80014, "Voucher is inactive.")

    # ----- changes

    def lock(self, held: HeldVoucher, register: Register, api: str) -> Lock:
        self.refuse_unusable(held)
        if held.lock is not None:
            raise ApiError(80017, "Voucher is already locked.")
        now = self.clock()
        lock = Lock(self._new_uuid(), now, now + LOCK_HOLDS)
        held.locks.append(lock)
        self._record("voucher_locked", held, register, api)
        return lock

    def release(self, held: HeldVoucher, release_key: str, register: Register, api: str) -> Lock:
        if held.redeemed_at is not None:
            raise ApiError(80005, "Voucher code as already been redeemed.")
        mine = next((lock for lock in held.locks if lock.release_key == release_key), None)
        if mine is None:
            if self.status(held) == "EXPIRED":
                raise ApiError(80006, "Voucher has expired.")
            raise invalid("release_key", "The release key is not the key of this voucher's lock.")
        if mine.unlocked_at is None:
            mine.unlocked_at = self.clock()
            self._record("voucher_released", held, register, api, by="release")
        return mine

    def redeem(
        self,
        held: HeldVoucher,
        contact: dict[str, Any],
        release_key: str | None,
        register: Register,
        api: str,
    ) -> None:
        lock = held.lock
        if lock is not None and held.redeemed_at is None and lock.release_key != release_key:
            raise ApiError(80017, "Voucher is already locked.")
        self.refuse_unusable(held)
        now = self.clock()
        if lock is not None:
            lock.unlocked_at = now  # "the system will release the lock automatically"
        held.contact = held.contact or contact
        held.redeemed_at = now
        held.redemption = {"uuid": self._new_uuid(), "created_at": _stamp(now)}
        self._record("voucher_redeemed", held, register, api)

    def _expire_lock(self, held: HeldVoucher) -> None:
        lock = held.lock
        if lock is not None and lock.system_release_at <= self.clock():
            lock.unlocked_at = lock.system_release_at
            self._record("voucher_released", held, None, "system", by="system")

    def _record(
        self, kind: str, held: HeldVoucher, register: Register | None, api: str, **extra: Any
    ) -> None:
        contact = (held.contact or {}).get("uuid")
        self._ledger.record(
            kind,
            register,
            api,
            voucher=held.seed.uuid,
            code=held.seed.code,
            contact=contact,
            **extra,
        )

    # ----- answers

    def json(self, held: HeldVoucher) -> dict[str, Any]:
        """A voucher as the Find and Redeem examples show one."""
        seed = held.seed
        redeemed = held.redeemed_at is not None
        promotion = {
            "uuid": "sandbox-promotion",
            "name": seed.promotion,
            "description": seed.description,
            "voucher_limit": None,
            "limit_per_contact": None,
            "expiration_duration": None,
            **seed.attributes,
        }
        body: dict[str, Any] = {
            "uuid": seed.uuid,
            "code": seed.code,
            "status": self.status(held),
            "name": seed.name,
            "description": seed.description,
            "expiration_date": seed.expiration_date,
            "activation_date": seed.activation_date,
            "redeemed_at": _stamp(held.redeemed_at),
            "is_redeemed": redeemed,
            "redemptions_remaining": 0 if redeemed else 1,
            "times_redeemed": 1 if redeemed else 0,
            "total_redemptions_allowed": 1,
            "attributes": dict(seed.attributes),
            "contact": held.contact,
            "promotion": promotion,
        }
        return body

    def lock_json(self, held: HeldVoucher, lock: Lock) -> dict[str, Any]:
        """The Lock and Release examples: the voucher's state and the lock."""
        return {
            "voucher": {"uuid": held.seed.uuid, "status": self.status(held)},
            "lock": lock.json(),
        }
