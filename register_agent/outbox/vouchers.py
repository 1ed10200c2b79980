"""The outbox's handler of a voucher locked for a sale (``voucher``): it redeems the voucher
once its sale is recorded and releases it when the sale is voided or never comes, so no
lock the till took is left hanging, not even across a crash (the operation waits in the
journal like any other; docs/architecture.md, "Exactly once").

What it does is decided in the journal, never here on a guess: the payload's ``action``
(set when the POS recorded or voided the sale, or gave the lock up); with none, the
operation came due at ``release_at`` and the sale's row decides: recorded and not voided,
redeem (the sale was recorded and the till died before it said so); otherwise release.

An unknown outcome is settled from the voucher's state (``GET /vouchers/find``): REDEEMED
after a redeem, ACTIVE after a release, is the attempt that landed. While the lock holds
only its release key can redeem or release the voucher, so that state is this lock's doing.
A redeem answered 80005 ("already been redeemed") is an earlier attempt of this operation
that landed, for the same reason, and is settled the same way.
"""

from __future__ import annotations

import logging

from register_agent.common.masking import mask
from register_agent.errors import AlreadyApplied, RequestRejected
from register_agent.journal import Journal, Operation
from register_agent.journal.payloads import VoucherPayload
from register_agent.journal.results import VoucherResult
from register_agent.loyalty.vouchers import Vouchers
from register_agent.outbox.contract import (
    Delivered,
    Progress,
    Reconciled,
    crash_point,
    fitting_payload,
    payload_of,
    refused,
)

log = logging.getLogger(__name__)

#: the crash point (REGISTER_AGENT_CRASH_AT) after a voucher's redeem or release is decided
#: and saved, before it is sent
VOUCHER_DECIDED = "voucher_decided"
#: Leat's code for a voucher redeemed already
_REDEEMED = 80005


class VoucherHandler:
    """Redeems or releases a locked voucher (``voucher`` operations)."""

    def __init__(self, vouchers: Vouchers | None, journal: Journal) -> None:
        self._vouchers = vouchers
        self._journal = journal

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        payload = payload_of(operation, VoucherPayload)
        vouchers = self._service()
        if payload.action is None:
            sale = await self._journal.sale(payload.sale_id)
            recorded = sale is not None and sale.state != "voided"
            payload = payload.deciding("redeem" if recorded else "release")
            await progress.save(payload)  # a reconciliation knows which call may have gone
        crash_point(VOUCHER_DECIDED)
        if payload.action == "release":
            await vouchers.release(payload.voucher_uuid, payload.release_key)
            log.info("voucher %s released (sale %s)", mask(payload.code), payload.sale_id)
            return _delivered(payload, None)
        try:
            voucher = await vouchers.redeem(
                payload.code, release_key=payload.release_key, contact_uuid=payload.contact_uuid
            )
        except RequestRejected as exc:
            if exc.code == _REDEEMED:
                raise AlreadyApplied(f"voucher {mask(payload.code)}: redeemed already") from exc
            raise
        log.info("voucher %s redeemed with sale %s", mask(payload.code), payload.sale_id)
        return _delivered(payload, voucher.uuid)

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        payload = fitting_payload(operation, VoucherPayload)
        if payload is None or payload.action is None:
            return Reconciled.NOT_APPLIED  # nothing was sent before the action was saved
        voucher = await self._service().find(payload.code)
        if payload.action == "redeem":
            if voucher.status == "REDEEMED" or voucher.is_redeemed:
                return _delivered(payload, voucher.uuid)
            return (
                Reconciled.NOT_APPLIED
                if voucher.status in ("LOCKED", "ACTIVE")
                else (Reconciled.UNRESOLVABLE)
            )
        if voucher.status == "LOCKED":
            return Reconciled.NOT_APPLIED  # a release sent again with its key is answered again
        if voucher.status == "REDEEMED" or voucher.is_redeemed:
            return Reconciled.UNRESOLVABLE  # redeemed by someone after the lock ended
        return _delivered(payload, None)

    def _service(self) -> Vouchers:
        if self._vouchers is None:
            raise refused(
                "a voucher lock waits, but this till has no voucher connection any more "
                "([api] version v3 or orders, and the credential personal-access-token)"
            )
        return self._vouchers


def _delivered(payload: VoucherPayload, server_ref: str | None) -> Delivered:
    outcome = "released" if payload.action == "release" else "redeemed"
    result = VoucherResult(outcome=outcome, name=payload.name, code=mask(payload.code))
    return Delivered(server_ref=server_ref, result=result)
