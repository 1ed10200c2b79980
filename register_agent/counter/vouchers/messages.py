"""What the POS and the till say about vouchers: the local API's voucher requests and
answers, as typed models.

A voucher's code is what its QR / barcode carries, a bearer secret (whoever has it can
redeem it): it comes in with a request, and every answer, log line and receipt shows its
last four characters only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field

from register_agent.counter.messages import Message, PosId

#: a voucher code as scanned or typed (Leat's codes are letters, digits and dashes)
VoucherCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
#: what the outbox has done with a lock so far
LockState = Literal["locked", "redeeming", "redeemed", "releasing", "released", "failed"]


class VoucherCheckRequest(Message):
    """``POST /v1/vouchers/check``: the code in the body, never in the URL (access logs
    keep URLs)."""

    code: VoucherCode


class VoucherView(Message):
    """A voucher and whether it can be used now, and if not, why, in words for the cashier.
    Leat gives a voucher no amount: what it is worth is its name, its description and its
    attributes (the account's own, e.g. the PLU of the product or discount it gives)."""

    code: str  # its last four characters
    name: str
    description: str | None = None
    status: str  # Leat's: ACTIVE, LOCKED, REDEEMED, EXPIRED, DEACTIVATED, INACTIVE
    usable: bool
    reason: str | None = None  # why not, when not usable
    expires_at: datetime | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class VoucherLockRequest(Message):
    """``POST /v1/vouchers/locks``: hold the voucher for the sale ``sale_id`` (the sale the
    POS then posts). ``customer``: the contact uuid a voucher without one is redeemed for
    (a flyer's); a voucher issued to a customer needs none."""

    code: VoucherCode
    sale_id: PosId
    customer: str | None = Field(default=None, max_length=64)


class VoucherLockView(Message):
    """A voucher held for a sale, and what has become of it."""

    lock_id: str
    sale_id: str
    code: str  # its last four characters
    name: str
    state: LockState
    #: when the till releases it if the sale is neither posted nor voided by then
    release_at: datetime
    reason: str | None = None  # why it failed


class VoucherApi(Protocol):
    """The voucher desk as the local API sees it."""

    async def check(self, request: VoucherCheckRequest) -> VoucherView: ...

    async def lock(self, request: VoucherLockRequest) -> VoucherLockView: ...

    async def lock_state(self, lock_id: str) -> VoucherLockView: ...

    async def release(self, lock_id: str) -> VoucherLockView: ...

    async def sale_recorded(self, sale_id: str) -> None: ...

    async def sale_voided(self, sale_id: str) -> None: ...
