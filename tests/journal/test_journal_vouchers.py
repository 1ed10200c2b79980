"""The journal's voucher locks on a real SQLite file: a lock waits until it is to be given
up, the sale's posting or void decides it and makes it due at once, a lock given up is
released unless its call is under way, and its code is cut to its last four once done."""

from __future__ import annotations

import pytest

from register_agent.journal import Journal, NewOperation, OperationState, SaleRecord
from register_agent.journal.kinds import VOUCHER
from register_agent.journal.payloads import VoucherPayload
from register_agent.journal.results import VoucherResult
from register_agent.receipts.layout import Receipt
from register_agent.receipts.vouchers import with_vouchers

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0
CODE = "VCH-COFFEE-01"


def locked(lock_id: str, sale_id: str = "S-1") -> NewOperation:
    payload = VoucherPayload(
        sale_id=sale_id,
        voucher_uuid="5e0c1a2b",
        code=CODE,
        name="Free coffee",
        release_key="key-1",
        release_at=NOW + 1800,
    )
    return NewOperation(lock_id, VOUCHER, None, payload)


def sale(sale_id: str) -> SaleRecord:
    return SaleRecord(sale_id, f"digest-{sale_id}", 450, "EUR", None, {}, "paid", NOW)


async def test_a_lock_waits_until_its_sale_decides_it(journal: Journal) -> None:
    await journal.hold_voucher(locked("L1"), due_at=NOW + 1800, now=NOW)
    assert await journal.due_operations(NOW + 60, limit=10) == []
    await journal.record_sale(sale("S-1"), [], print_receipt=False)
    (decided,) = await journal.decide_vouchers("S-1", "redeem", NOW + 60)
    assert isinstance(decided.payload, VoucherPayload)
    assert (decided.payload.action, decided.sale_id) == ("redeem", "S-1")
    (due,) = await journal.due_operations(NOW + 60, limit=10)
    assert due.id == "L1"
    # a void after the redeem was decided, before it was sent, turns it into a release
    (voided,) = await journal.decide_vouchers("S-1", "release", NOW + 61)
    assert isinstance(voided.payload, VoucherPayload)
    assert voided.payload.action == "release"
    assert await journal.decide_vouchers("S-1", "redeem", NOW + 62) == []  # never back


async def test_a_lock_given_up_is_released_unless_under_way(journal: Journal) -> None:
    await journal.hold_voucher(locked("L1"), due_at=NOW + 1800, now=NOW)
    await journal.hold_voucher(locked("L2", "S-2"), due_at=NOW + 1800, now=NOW)
    given_up = await journal.release_voucher("L1", NOW + 5)
    assert given_up is not None
    assert isinstance(given_up.payload, VoucherPayload)
    assert given_up.payload.action == "release"
    await journal.move("L2", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW + 6)
    assert await journal.release_voucher("L2", NOW + 7) is None
    assert await journal.release_voucher("no-such-lock", NOW + 7) is None


async def test_a_done_lock_keeps_its_code_cut_and_the_receipt_names_it(journal: Journal) -> None:
    await journal.hold_voucher(locked("L1"), due_at=NOW, now=NOW)
    await journal.move("L1", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW)
    result = VoucherResult(outcome="redeemed", name="Free coffee", code="…E-01")
    done = await journal.move(
        "L1", OperationState.IN_FLIGHT, OperationState.DONE, now=NOW, result=result
    )
    assert CODE not in str(done.payload.to_json())
    (found,) = await journal.vouchers_of_sale("S-1")
    receipt = with_vouchers(Receipt(sale_id="S-1"), [found], "nl")
    assert receipt.notes == ("Tegoedbon ****E-01 ingewisseld: Free coffee",)
    released = VoucherResult(outcome="released", name="Free coffee", code="…E-01")
    gone = [found.__class__(**{**found.__dict__, "result": released})]
    assert with_vouchers(Receipt(sale_id="S-1"), gone, "en").notes == ()
