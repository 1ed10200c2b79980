"""The loyalty calls refunds need: credits taken back (negative credits carrying the
operation id) and the reconciliation of a reverse, v3 on scripted answers; v1 refuses both
without sending anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from register_agent.errors import OutcomeUnknown, RequestRejected
from register_agent.loyalty import (
    CustomerRef,
    LoyaltyService,
    make_loyalty,
)
from register_agent.loyalty.v3 import service as service_v3
from tests.support.loyalty_support import Script, api_config, form_of, ok, query_of

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_retry_waits")]

CONTACT = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
JAN = CustomerRef(key=CONTACT, card="A1B2C3D4")
ORIGINAL = "00000000-0000-4000-8000-000000000001"
TRANSACTIONS = f"/contacts/{CONTACT}/loyalty-transactions"


@pytest.fixture
def script() -> Script:
    return Script("v3")


@pytest.fixture
async def loyalty(script: Script) -> AsyncIterator[LoyaltyService]:
    service = make_loyalty(api_config("v3"), script.transport()).service
    yield service
    await service.aclose()


def transaction(tail: int, credits: int, at: str = "11:00", **fields: Any) -> dict[str, Any]:
    return {
        "uuid": f"00000000-0000-4000-8000-{tail:012d}",
        "type": "credit_reception",
        "credits": credits,
        "created_at": f"2024-03-02T{at}:00+00:00",
        **fields,
    }


async def test_credits_are_taken_back_by_contact_with_the_operation_id(
    loyalty: LoyaltyService, script: Script
) -> None:
    answer = transaction(7, -5, contact={"uuid": CONTACT, "credit_balance": {"balance": 145}})
    script.on("POST", "/credit-receptions", ok(answer))
    award = await loyalty.take_back_credits(JAN, 5, operation_id="op-refund")
    assert (award.credits, award.balance, award.operation_id) == (-5, 145, "op-refund")
    (request,) = script.requests
    assert form_of(request) == {
        "contact_uuid": CONTACT,
        "credits": "-5",
        "agent_operation_id": "op-refund",
    }


async def test_nothing_to_take_back_is_a_bug_not_a_request(
    loyalty: LoyaltyService, script: Script
) -> None:
    with pytest.raises(ValueError, match="positive"):
        await loyalty.take_back_credits(JAN, 0, operation_id="op")
    assert script.requests == []


async def test_the_reverse_is_found_by_its_shape(loyalty: LoyaltyService, script: Script) -> None:
    page = [
        transaction(9, -12, "11:05"),  # the reverse
        # an attribute naming another operation rules nothing out (not documented there)
        transaction(8, -12, "11:04", agent_operation_id="op-other"),
        transaction(6, -12, "10:00"),  # older than the original: not its reverse
        transaction(7, -5, "11:06"),  # other credits: not its reverse
        transaction(5, 12, "11:03"),
        transaction(1, 12, "11:00", agent_operation_id="op-sale"),
    ]
    script.on("GET", TRANSACTIONS, ok(page, meta={"page": 1, "last_page": 1}))
    found = await loyalty.find_reversals(JAN, ORIGINAL)
    assert found is not None
    assert [(award.reception_id[-1], award.credits) for award in found] == [
        ("9", -12),
        ("8", -12),
    ]
    assert query_of(script.requests[0]) == {"page": "1", "limit": "100"}


async def test_a_reverse_that_copied_the_original_attributes_is_found(
    loyalty: LoyaltyService, script: Script
) -> None:
    page = [
        transaction(1, 12, agent_operation_id="op-sale"),
        transaction(2, -12, "11:01", agent_operation_id="op-sale"),
    ]
    script.on("GET", TRANSACTIONS, ok(page, meta={"page": 1, "last_page": 1}))
    found = await loyalty.find_reversals(JAN, ORIGINAL)
    assert found is not None
    assert len(found) == 1


async def test_a_reward_claims_reverse_gives_the_credits_back(
    loyalty: LoyaltyService, script: Script
) -> None:
    claim = transaction(1, -50, type="reward_reception")
    script.on("GET", TRANSACTIONS, ok([claim, transaction(3, 50, "11:02")], meta=[]))
    found = await loyalty.find_reversals(JAN, ORIGINAL)
    assert found is not None
    assert [award.credits for award in found] == [50]


async def test_no_reverse_yet_and_no_original_at_all(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on(
        "GET",
        TRANSACTIONS,
        ok([transaction(1, 12)], meta=[]),
        ok([transaction(2, 12)], meta=[]),
    )
    assert await loyalty.find_reversals(JAN, ORIGINAL) == []
    assert await loyalty.find_reversals(JAN, ORIGINAL) is None


async def test_too_many_transactions_stay_unknown(
    loyalty: LoyaltyService, script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_v3, "MAX_RECONCILE_PAGES", 2)
    script.on("GET", TRANSACTIONS, ok([transaction(4, 1)], meta={"page": 1, "last_page": 9}))
    with pytest.raises(OutcomeUnknown, match="review"):
        await loyalty.find_reversals(JAN, ORIGINAL)
    assert len(script.requests) == 2


async def test_v1_refuses_to_take_credits_back_without_sending() -> None:
    script = Script("v1")
    loyalty = make_loyalty(api_config("v1"), script.transport()).service
    try:
        with pytest.raises(RequestRejected, match="cannot take credits back"):
            await loyalty.take_back_credits(CustomerRef(key="7731"), 5, operation_id="op")
        with pytest.raises(OutcomeUnknown, match="no reverse"):
            await loyalty.find_reversals(CustomerRef(key="7731"), "990412")
    finally:
        await loyalty.aclose()
    assert script.requests == []
