"""The voucher desk's part in a sale, on a real journal file: a sale redeems the vouchers
locked for it, those an earlier run of the agent locked included, and a sale without one
leaves every lock as it was."""

from __future__ import annotations

import pytest

from register_agent.counter.vouchers.desk import VoucherDesk
from register_agent.journal import Journal, NewOperation, SaleRecord
from register_agent.journal.kinds import VOUCHER
from register_agent.journal.payloads import VoucherPayload

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0


def _lock(lock_id: str, sale_id: str) -> NewOperation:
    payload = VoucherPayload(
        sale_id=sale_id,
        voucher_uuid="5e0c1a2b",
        code="VCH-COFFEE-01",
        name="Free coffee",
        release_key="key-1",
        release_at=NOW + 1800,
    )
    return NewOperation(lock_id, VOUCHER, None, payload)


async def _sold(journal: Journal, desk: VoucherDesk, sale_id: str) -> None:
    record = SaleRecord(sale_id, f"digest-{sale_id}", 450, "EUR", None, {}, "paid", NOW)
    await journal.record_sale(record, [], print_receipt=False)
    await desk.sale_recorded(sale_id)


async def test_a_sale_redeems_a_lock_an_earlier_run_made_and_no_other(journal: Journal) -> None:
    # locked before a restart: this desk never saw the lock being made
    await journal.hold_voucher(_lock("L1", "S-1"), due_at=NOW + 1800, now=NOW)
    await journal.hold_voucher(_lock("L2", "S-2"), due_at=NOW + 1800, now=NOW)
    woken: list[bool] = []
    desk = VoucherDesk(
        journal, None, hold_s=1800, wake_outbox=lambda: woken.append(True), clock=lambda: NOW
    )

    await _sold(journal, desk, "S-9")  # a sale without a voucher
    assert await journal.due_operations(NOW + 60, limit=10) == []
    assert woken == []

    await _sold(journal, desk, "S-1")
    (due,) = await journal.due_operations(NOW + 60, limit=10)
    assert due.id == "L1"
    assert isinstance(due.payload, VoucherPayload)
    assert due.payload.action == "redeem"
    assert woken == [True]
    assert await journal.sales_with_vouchers() == {"S-1", "S-2"}


async def test_the_locks_of_earlier_runs_are_read_once_not_for_every_sale(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each read is a scan of the operations, a backlog of thousands included: a sale
    # without a voucher must not pay it again and again
    await journal.hold_voucher(_lock("L1", "S-1"), due_at=NOW + 1800, now=NOW)
    reads: list[bool] = []
    read_locks = journal.sales_with_vouchers

    async def counted() -> set[str]:
        reads.append(True)
        return await read_locks()

    monkeypatch.setattr(journal, "sales_with_vouchers", counted)
    desk = VoucherDesk(journal, None, hold_s=1800, wake_outbox=lambda: None, clock=lambda: NOW)

    for number in range(5):
        await _sold(journal, desk, f"S-{10 + number}")
    await _sold(journal, desk, "S-1")  # the earlier run's lock is still known

    assert reads == [True]
    (due,) = await journal.due_operations(NOW + 60, limit=10)
    assert due.id == "L1"
