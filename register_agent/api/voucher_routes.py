"""The local API's voucher routes: check a voucher, lock it for a sale, see what became of
the lock, give it up; handed to the till's voucher desk (``VoucherApi``). The sale's own
routes tell the desk when the sale is recorded or voided (``app.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from register_agent.api import docs
from register_agent.api.problems import ErrorBody
from register_agent.counter.vouchers.messages import (
    VoucherApi,
    VoucherCheckRequest,
    VoucherLockRequest,
    VoucherLockView,
    VoucherView,
)

LockId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$", description="the lock's id")
]

CHECK = """Check a voucher the cashier scanned or typed: what it gives (its name,
description and attributes, e.g. the PLU the POS applies; Leat gives a voucher no amount)
and whether it can be used now, or why not. The code goes in the body, never in the URL.
Online only: 503 while the voucher service cannot be reached."""

LOCK = """Hold the voucher for a sale, so no other till can take it meanwhile. Post the
sale (`POST /v1/sales` with the same `sale_id`) afterwards: the agent then redeems the
voucher. Voiding the sale (`POST /v1/sales/{sale_id}/void`) or giving the lock up
(`POST /v1/vouchers/locks/{lock_id}/release`) releases it; a lock whose sale is not posted
by `release_at` is released by the agent, even across a restart. The same code for the
same sale again answers the same lock. 409 when the voucher cannot be used (the answer
says why). A voucher redeemed already stays redeemed when its sale is voided afterwards:
Leat documents no way back."""

STATE = """What became of a lock: `locked` (waiting for its sale), `redeeming`, `redeemed`,
`releasing`, `released`, or `failed` (with the reason; `register-agent review` shows it)."""

RELEASE = """Give the lock up: the sale will not be completed with this voucher. A lock
whose redeem is already under way or done is answered as it stands."""


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": docs.ERRORS[status]} for status in statuses}


def voucher_router(desk: VoucherApi) -> APIRouter:
    router = APIRouter(prefix="/v1/vouchers", tags=["vouchers"])

    @router.post(
        "/check", summary="Check a voucher", description=CHECK, responses=_errors(404, 503)
    )
    async def check(request: VoucherCheckRequest) -> VoucherView:
        return await desk.check(request)

    @router.post(
        "/locks",
        summary="Lock a voucher for a sale",
        description=LOCK,
        responses=_errors(404, 409, 503),
    )
    async def lock(request: VoucherLockRequest) -> VoucherLockView:
        return await desk.lock(request)

    @router.get(
        "/locks/{lock_id}", summary="A voucher lock", description=STATE, responses=_errors(404)
    )
    async def lock_state(lock_id: LockId) -> VoucherLockView:
        return await desk.lock_state(lock_id)

    @router.post(
        "/locks/{lock_id}/release",
        summary="Release a voucher lock",
        description=RELEASE,
        responses=_errors(404),
    )
    async def release(lock_id: LockId) -> VoucherLockView:
        return await desk.release(lock_id)

    return router
