"""The journal's giftcard payments (migration 2): in flight before sending, compare-and-set
moves, a refused row taken up again, the sale's payments, and the purge."""

from __future__ import annotations

from dataclasses import replace

import pytest

from register_agent.journal import GiftcardPayment, GiftcardState, Journal

pytestmark = pytest.mark.anyio
NOW = 1_700_000_000.0


def record(payment_id: str, sale_id: str | None = "S-1") -> GiftcardPayment:
    return GiftcardPayment(
        payment_id, "digest", "payment", sale_id, "9B21", "41650", -1000, 2500, None,
        GiftcardState.IN_FLIGHT, None, None, None, NOW, NOW,
    )  # fmt: skip


async def test_in_flight_once_then_moved(journal: Journal) -> None:
    first, taken = await journal.start_giftcard_payment(record("P-1"))
    assert (first.state, taken) == ("in_flight", True)
    # a second request for the same id while the first is in flight does not take it
    assert not (await journal.start_giftcard_payment(record("P-1")))[1]
    assert await journal.move_giftcard_payment(
        "P-1",
        GiftcardState.IN_FLIGHT,
        GiftcardState.DONE,
        NOW + 1,
        balance_after=1500,
        transaction_id="77",
        result={"ok": True},
    )
    # a second start of the same id changes nothing: the row is not refused
    again, taken = await journal.start_giftcard_payment(replace(record("P-1"), balance_before=9))
    assert not taken
    assert (again.state, again.balance_before, again.balance_after) == ("done", 2500, 1500)
    assert again.result == {"ok": True}
    assert not await journal.move_giftcard_payment(
        "P-1", GiftcardState.IN_FLIGHT, GiftcardState.UNKNOWN, NOW + 2
    )


async def test_a_refused_payment_can_be_tried_again(journal: Journal) -> None:
    await journal.start_giftcard_payment(record("P-2"))
    assert await journal.move_giftcard_payment(
        "P-2", GiftcardState.IN_FLIGHT, GiftcardState.REFUSED, NOW + 1
    )
    again, taken = await journal.start_giftcard_payment(replace(record("P-2"), balance_before=2000))
    assert (again.state, again.balance_before, taken) == ("in_flight", 2000, True)


async def test_sale_payments_and_purge(journal: Journal) -> None:
    for payment_id in ("P-3", "P-4", "P-5"):
        await journal.start_giftcard_payment(record(payment_id))
    await journal.move_giftcard_payment("P-3", GiftcardState.IN_FLIGHT, GiftcardState.DONE, NOW + 1)
    await journal.move_giftcard_payment(
        "P-4", GiftcardState.IN_FLIGHT, GiftcardState.UNKNOWN, NOW + 1
    )
    assert [p.payment_id for p in await journal.giftcard_payments_of_sale("S-1")] == [
        "P-3",
        "P-4",
        "P-5",
    ]
    await journal.purge_finished(before=NOW + 10)
    left = [p.payment_id for p in await journal.giftcard_payments_of_sale("S-1")]
    assert left == ["P-4", "P-5"]  # unsettled rows wait for a person
