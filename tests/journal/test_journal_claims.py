"""Reward claims in the journal's retention: settled claims leave with their sales (and the
finished operations that found out about lost ones), while a claim still being found out,
or one whose sale stays, is kept. A real SQLite file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from register_agent.journal import (
    ClaimRecord,
    ClaimState,
    Journal,
    NewOperation,
    OperationState,
    SaleRecord,
)
from register_agent.journal.payloads import CreditReceptionPayload
from register_agent.journal.results import RewardClaimResult

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0
CUSTOMER = "customer:0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"


def sale(sale_id: str) -> SaleRecord:
    return SaleRecord(
        sale_id=sale_id,
        request_digest=f"digest-{sale_id}",
        amount_cents=1250,
        currency="EUR",
        customer_key=CUSTOMER,
        answer={},
        state="paid",
        created_at=NOW,
    )


def credit(op_id: str, sale_id: str) -> NewOperation:
    payload = CreditReceptionPayload(sale_id=sale_id, amount="12.50", card="A1B2C3D4")
    return NewOperation(id=op_id, kind="credit_reception", customer_key=CUSTOMER, payload=payload)


async def claim(journal: Journal, claim_id: str, sale_id: str | None) -> ClaimRecord:
    record = ClaimRecord(
        claim_id, "digest", sale_id, CUSTOMER, "coffee", ClaimState.IN_FLIGHT, None, None, 0, 0
    )
    return await journal.start_claim(replace(record, created_at=NOW, updated_at=NOW))


async def test_settled_claims_leave_with_their_sales_and_open_ones_stay(
    journal: Journal,
) -> None:
    done = OperationState.DONE
    await journal.record_sale(sale("finished"), [credit("f1", "finished")], print_receipt=False)
    await journal.move("f1", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW)
    await journal.move("f1", OperationState.IN_FLIGHT, done, now=NOW)
    await journal.record_sale(sale("waiting"), [credit("w1", "waiting")], print_receipt=False)
    for claim_id, sale_id in (("with-sale", "finished"), ("alone", None), ("kept", "waiting")):
        await claim(journal, claim_id, sale_id)
        await journal.finish_claim(claim_id, ClaimState.DONE, NOW, server_ref=f"r-{claim_id}")
    # two lost claims: one found out (its operation done), one still being found out
    found, open_ = await claim(journal, "found", None), await claim(journal, "open", None)
    await journal.claim_lost(found, NOW, look_at=NOW)
    await journal.claim_lost(open_, NOW, look_at=NOW)
    by_claim = {
        op.payload.claim_id: op  # type: ignore[attr-defined]
        for op in await journal.operations_in(OperationState.UNKNOWN)
    }
    result = RewardClaimResult(applied=True, credits=-50, title="Coffee")
    await journal.move(by_claim["found"].id, OperationState.UNKNOWN, done, now=NOW, result=result)
    assert (await journal.reward_claim("found")).state is ClaimState.DONE  # type: ignore[union-attr]

    assert await journal.purge_finished(before=NOW + 1) == 1  # the one finished sale

    for gone in ("with-sale", "alone", "found"):
        assert await journal.reward_claim(gone) is None, gone
    assert await journal.operation(by_claim["found"].id) is None
    kept = await journal.reward_claim("kept")
    assert kept is not None
    assert kept.state is ClaimState.DONE
    still_open = await journal.reward_claim("open")
    assert still_open is not None
    assert still_open.state is ClaimState.UNKNOWN
    assert await journal.operation(by_claim["open"].id) is not None
    assert await journal.integrity_check() == "ok"


async def test_a_claim_settled_after_the_cut_off_stays(journal: Journal) -> None:
    await claim(journal, "recent", None)
    await journal.finish_claim("recent", ClaimState.REFUSED, NOW + 10)
    await journal.purge_finished(before=NOW + 1)
    assert await journal.reward_claim("recent") is not None
