"""The till's voucher desk: checks a voucher the cashier scanned or typed, locks it for a
sale, and journals the lock as a ``voucher`` operation; the outbox redeems it once the sale
is recorded and releases it when the sale is voided, given up, or not posted in time
(``outbox/vouchers.py``). Checking and locking are online only, like giftcards: a voucher
can only be taken while Leat can say it is good.

The lock is journaled after Leat answered it, with its release key. If the till dies in
between, or the lock's answer is lost, no release key is known: Leat releases such a lock
by itself within the hour (the docs' Lock Voucher), and the POS is told to try again, so
no voucher is ever redeemed without a lock the journal holds.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from register_agent.common.masking import mask
from register_agent.counter.vouchers.messages import (
    LockState,
    VoucherCheckRequest,
    VoucherLockRequest,
    VoucherLockView,
    VoucherView,
)
from register_agent.errors import (
    CounterRefusal,
    CredentialsRejected,
    LoyaltyApiError,
    NotApplied,
    RequestRejected,
)
from register_agent.journal import Journal, NewOperation, Operation, OperationState
from register_agent.journal.kinds import VOUCHER
from register_agent.journal.payloads import VoucherPayload
from register_agent.journal.results import VoucherResult
from register_agent.loyalty.orders.models import Voucher
from register_agent.loyalty.vouchers import Vouchers

log = logging.getLogger(__name__)

#: a voucher that cannot be used, by Leat's status and by its refusal code: (code, words)
_UNUSABLE = {
    "LOCKED": (
        "voucher_locked",
        "this voucher is held for a sale at a till; Leat frees it "
        "within the hour at most if that sale does not take it",
    ),
    "REDEEMED": ("voucher_redeemed", "this voucher has been redeemed already"),
    "EXPIRED": ("voucher_expired", "this voucher has expired"),
    "DEACTIVATED": ("voucher_deactivated", "this voucher has been deactivated"),
    "INACTIVE": ("voucher_inactive", "this voucher is not valid yet"),
}
_BY_CODE = {
    80017: "LOCKED",
    80005: "REDEEMED",
    80006: "EXPIRED",
    80012: "DEACTIVATED",
    80014: "INACTIVE",
}


class VoucherDesk:
    """Vouchers at the counter (``VoucherApi``)."""

    def __init__(
        self,
        journal: Journal,
        vouchers: Vouchers | None,
        *,
        hold_s: float,
        wake_outbox: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._vouchers = vouchers
        self._hold_s = hold_s
        self._wake = wake_outbox
        self._clock = clock
        # The sales a voucher was locked for, so that a sale without one (nearly every
        # sale) is answered without the journal's write transaction that redeems them: a
        # superset (a sale goes in before its lock is journaled, and never leaves), read
        # from the journal once for the locks an earlier run made.
        self._sales_with_locks: set[str] = set()
        self._earlier_runs_read = False

    @property
    def service(self) -> Vouchers | None:
        """The vouchers' connection (the outbox's voucher handler uses the same)."""
        return self._vouchers

    async def check(self, request: VoucherCheckRequest) -> VoucherView:
        voucher = await self._find(request.code)
        unusable = _UNUSABLE.get(voucher.status)
        return VoucherView(
            code=mask(request.code),
            name=voucher.name,
            description=voucher.description,
            status=voucher.status,
            usable=unusable is None,
            reason=None if unusable is None else unusable[1],
            expires_at=voucher.expiration_date,
            attributes=voucher.attributes if isinstance(voucher.attributes, dict) else {},
        )

    async def lock(self, request: VoucherLockRequest) -> VoucherLockView:
        for held in await self._journal.vouchers_of_sale(request.sale_id):
            code = held.payload.to_json().get("code")
            if code in (request.code, mask(request.code)):
                return _view(held)  # the same request again: the lock it made
        voucher = await self._find(request.code)
        if voucher.status in _UNUSABLE:
            raise CounterRefusal(*_UNUSABLE[voucher.status], status=409)
        service = self._service()
        try:
            lock = await service.lock(voucher.uuid, deadline=service.counter_deadline())
        except LoyaltyApiError as exc:
            raise _refusal(exc, locking=True) from exc
        now = self._clock()
        payload = VoucherPayload(
            sale_id=request.sale_id,
            voucher_uuid=voucher.uuid,
            code=request.code,
            name=voucher.name,
            release_key=lock.lock.release_key,
            contact_uuid=None if voucher.contact is not None else request.customer,
            release_at=now + self._hold_s,
        )
        operation = NewOperation(uuid.uuid4().hex, VOUCHER, None, payload)
        self._sales_with_locks.add(request.sale_id)
        await self._journal.hold_voucher(operation, due_at=payload.release_at, now=now)
        log.info("voucher %s locked for sale %s", mask(request.code), request.sale_id)
        return await self.lock_state(operation.id)

    async def lock_state(self, lock_id: str) -> VoucherLockView:
        operation = await self._journal.operation(lock_id)
        if operation is None or operation.kind != VOUCHER:
            raise CounterRefusal("voucher_lock_unknown", "this till holds no such lock", status=404)
        return _view(operation)

    async def release(self, lock_id: str) -> VoucherLockView:
        """Give the lock up (the sale will not be completed); once its redeem is under way
        or done, the answer says so instead."""
        await self.lock_state(lock_id)  # 404 for a lock this till never held
        if await self._journal.release_voucher(lock_id, self._clock()) is not None:
            self._wake()
        return await self.lock_state(lock_id)

    async def sale_recorded(self, sale_id: str) -> None:
        if not self._earlier_runs_read:
            self._sales_with_locks |= await self._journal.sales_with_vouchers()
            self._earlier_runs_read = True
        if sale_id not in self._sales_with_locks:
            return
        if await self._journal.decide_vouchers(sale_id, "redeem", self._clock()):
            self._wake()

    async def sale_voided(self, sale_id: str) -> None:
        if await self._journal.decide_vouchers(sale_id, "release", self._clock()):
            self._wake()

    async def _find(self, code: str) -> Voucher:
        service = self._service()
        try:
            return await service.find(code, deadline=service.counter_deadline())
        except LoyaltyApiError as exc:
            raise _refusal(exc, locking=False) from exc

    def _service(self) -> Vouchers:
        if self._vouchers is None:
            raise CounterRefusal(
                "vouchers_unavailable",
                "this till takes no vouchers: they need [api] version v3 (or orders) and the "
                "account's personal access token (the credential personal-access-token)",
                status=503,
            )
        return self._vouchers


def _refusal(exc: LoyaltyApiError, *, locking: bool) -> CounterRefusal:
    if isinstance(exc, RequestRejected) and exc.code == 80004:
        return CounterRefusal(
            "voucher_unknown", "no voucher has this code; check it or type it again", status=404
        )
    if isinstance(exc, RequestRejected) and exc.code in _BY_CODE:
        return CounterRefusal(*_UNUSABLE[_BY_CODE[exc.code]], status=409)
    if isinstance(exc, CredentialsRejected):
        return CounterRefusal("key_refused", f"{exc}: ask the installer", status=503)
    if isinstance(exc, NotApplied):
        return CounterRefusal(
            "vouchers_offline",
            "the voucher service cannot be reached: vouchers work online only; try again in "
            "a moment",
            status=503,
        )
    if locking:
        return CounterRefusal(
            "voucher_lock_unknown",
            "the voucher service did not answer whether it locked the voucher; try again "
            "(Leat frees such a lock within the hour at most)",
            status=503,
        )
    return CounterRefusal("vouchers_offline", "the voucher service failed; try again", status=503)


def _view(operation: Operation) -> VoucherLockView:
    payload = VoucherPayload.model_validate(operation.payload.to_json())
    state: LockState = "locked"
    reason = None
    if isinstance(operation.result, VoucherResult):
        state = operation.result.outcome
    elif operation.state in (OperationState.DEAD, OperationState.REVIEW):
        state, reason = "failed", operation.last_error
    elif payload.action is not None:
        state = "redeeming" if payload.action == "redeem" else "releasing"
    return VoucherLockView(
        lock_id=operation.id,
        sale_id=payload.sale_id,
        code=mask(payload.code),
        name=payload.name,
        state=state,
        release_at=datetime.fromtimestamp(payload.release_at, UTC),
        reason=reason,
    )
