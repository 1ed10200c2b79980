"""The till against the real sandbox and a real journal: scans bind customers, sales are
recorded once, the loyalty block says what is known, claims are online and once only.

The outbox does not run here (its handlers have their own tests); the end-to-end tests
run everything together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from register_agent.common.events import Event, EventBus
from register_agent.config import ApiConfig, OutboxConfig, ReceiptConfig, TillConfig
from register_agent.counter.health import TillHealth
from register_agent.counter.messages import ClaimRequest, RefundRequest, SaleRequest
from register_agent.errors import CounterRefusal, JournalUnavailable
from register_agent.journal import ClaimState, Journal, OperationState
from register_agent.journal.kinds import CREDIT_RECEPTION, STAGED_CREDIT_RECEPTION
from register_agent.loyalty import make_loyalty
from register_agent.readers.scans import Scan
from register_agent.till.sale import Till
from tests.conftest import Sandbox
from tests.support.stored import stored

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_retry_waits")]
JAN_CARD, MARIE_CARD, AHMED_CARD = "A1B2C3D4", "B2C3D4E5", "C3D4E5F6"
JAN_V3 = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
COFFEE_V3 = "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
MakeTill = Callable[..., Till]


@pytest.fixture
async def make_till(sandbox_clean: Sandbox, tmp_path: Path) -> AsyncIterator[MakeTill]:
    journals: list[Journal] = []
    services: list[Any] = []

    def build(version: str = "v3", *, base_url: str | None = None, **till: Any) -> Till:
        journal = Journal.open(tmp_path / f"journal-{len(journals)}.sqlite3")
        journals.append(journal)
        loyalty = make_loyalty(
            ApiConfig(
                version=version,
                base_url=base_url or sandbox_clean.url,
                api_key=sandbox_clean.v1_key if version == "v1" else sandbox_clean.v3_key,
                loyalty_token_secret="sandbox-token-secret",
                loyalty_token_base_url=sandbox_clean.url,
                connect_timeout_s=0.5,
                read_timeout_s=2.0,
            )
        )
        services.append(loyalty)
        return Till(
            journal=journal,
            loyalty=loyalty,
            events=EventBus(),
            till=TillConfig(**{"receipt_wait_s": 0.05, **till}),
            receipt=ReceiptConfig(),
            health=TillHealth(journal, OutboxConfig()),
        )

    yield build
    for service in services:
        await service.aclose()
    for journal in journals:
        journal.close()


def scan(value: str, kind: str = "loyalty") -> Scan:
    return Scan(value=value, reader="counter", at=datetime.now(UTC), kind=kind)  # type: ignore[arg-type]


def sale(sale_id: str, amount: str = "12.50", **extra: Any) -> SaleRequest:
    return SaleRequest(sale_id=sale_id, amount=Decimal(amount), **extra)


def events_of(till: Till) -> list[Event]:
    missed, _ = till._events.since(0)
    return missed


async def test_a_scanned_customer_is_credited_with_the_next_sale_only(
    make_till: MakeTill,
) -> None:
    till = make_till("v3")
    await till.scanned(scan(JAN_CARD))
    customer = await till.current_customer()
    assert customer is not None
    assert (customer.display, customer.balance, customer.card_tail) == (
        "jan@example.org",
        150,
        "C3D4",
    )
    assert any(reward.title == "Free coffee" and reward.claimable for reward in customer.rewards)
    answer = await till.sell(sale("4711"))
    assert answer.loyalty.state == "pending"
    assert answer.loyalty.customer is not None
    assert answer.loyalty.customer.display == "jan@example.org"
    assert await till.current_customer() is None  # the sale consumed it
    (credit,) = await till._journal.operations_of_sale("4711")
    assert credit.kind == CREDIT_RECEPTION
    assert credit.customer_key == f"card:{JAN_CARD}"
    assert stored(credit.payload)["customer"] == {"key": JAN_V3, "card": JAN_CARD}
    assert stored(credit.payload)["amount"] == "12.50"
    await till.sell(sale("4712", "3.00"))
    assert await till._journal.operations_of_sale("4712") == []  # no customer for this one
    kinds = [event.kind for event in events_of(till)]
    assert kinds[:3] == ["scan", "customer_identified", "customer"]


async def test_a_sale_naming_its_customer_still_consumes_the_scan(make_till: MakeTill) -> None:
    till = make_till("v3")
    await till.scanned(scan(JAN_CARD))
    await till.sell(sale("4713", customer_card="B2C3D4E5"))
    assert await till.current_customer() is None
    (credit,) = await till._journal.operations_of_sale("4713")
    assert stored(credit.payload)["card"] == "B2C3D4E5"


async def test_a_sale_without_a_card_gets_a_token_qr_that_claims_once(
    make_till: MakeTill, sandbox_clean: Sandbox
) -> None:
    till = make_till("v3")
    answer = await till.sell(sale("R-1", "8.75"))
    assert answer.loyalty.state == "qr"
    assert answer.loyalty.qr_url is not None
    assert answer.loyalty.qr_url.startswith(sandbox_clean.url)
    assert sandbox_clean.claim(answer.loyalty.qr_url, 7732).status_code == 200
    assert sandbox_clean.claim(answer.loyalty.qr_url, 7731).status_code == 400
    claims = [row for row in sandbox_clean.ledger() if row["kind"] == "token_claim"]
    assert [(row["member"]["id"], row["credits"]) for row in claims] == [(7732, 8)]


async def test_the_same_sale_twice_is_one_sale_and_another_body_is_a_conflict(
    make_till: MakeTill,
) -> None:
    till = make_till("v3")
    await till.scanned(scan(JAN_CARD))
    first = await till.sell(sale("4711"))
    again = await till.sell(sale("4711"))
    assert again == first
    assert len(await till._journal.operations_of_sale("4711")) == 1
    with pytest.raises(CounterRefusal) as refused:
        await till.sell(sale("4711", "13.00"))
    assert (refused.value.code, refused.value.status) == ("sale_conflict", 409)


async def test_a_sale_that_hands_out_a_collectable_reward_needs_the_client_api(
    make_till: MakeTill,
) -> None:
    till = make_till("v3")  # no personal access token: no client API
    with pytest.raises(CounterRefusal) as refused:
        await till.sell(sale("C-1", customer_card=JAN_CARD, collect=("cake-1",)))
    assert (refused.value.code, refused.value.status) == ("collect_unavailable", 409)
    assert "personal access token" in str(refused.value)
    assert await till._journal.sale("C-1") is None  # nothing recorded, nothing to undo


async def test_cards_that_cannot_earn_and_product_codes(make_till: MakeTill) -> None:
    till = make_till("v3")
    await till.scanned(scan("D4E5F6A7"))  # a card nobody registered
    await till.scanned(scan("E5F6A7B8"))  # an inactive card
    await till.scanned(scan("5901234123457", kind="plain"))  # a product on a shared scanner
    await till.scanned(scan("ZZ99ZZ99"))  # looks like a card, is not one of ours
    assert await till.current_customer() is None
    seen = [
        (event.kind, event.data.get("card_tail") or event.data.get("value"))
        for event in events_of(till)
    ]
    assert ("customer_refused", "F6A7") in seen
    assert ("customer_refused", "A7B8") in seen
    assert ("plain_scan", "5901234123457") in seen
    assert ("plain_scan", "ZZ99ZZ99") in seen


async def test_a_card_scanned_offline_is_kept_for_the_sale(make_till: MakeTill) -> None:
    till = make_till("v3", base_url="http://127.0.0.1:9")  # nothing listens there
    await till.scanned(scan(MARIE_CARD))
    customer = await till.current_customer()
    assert customer is not None
    assert customer.balance is None
    await till.sell(sale("off-1", "4.00"))
    (credit,) = await till._journal.operations_of_sale("off-1")
    assert credit.customer_key == f"card:{MARIE_CARD}"
    assert stored(credit.payload)["customer"] is None
    assert stored(credit.payload)["card"] == MARIE_CARD
    assert (await till.status()).register_api == "unreachable"


async def test_a_customer_binding_expires(make_till: MakeTill) -> None:
    till = make_till("v3", customer_window_s=0.01)
    await till.scanned(scan(JAN_CARD))
    await asyncio.sleep(0.05)
    assert await till.current_customer() is None
    await till.sell(sale("late"))
    assert await till._journal.operations_of_sale("late") == []


async def test_reward_claims_are_made_once_per_claim_id(
    make_till: MakeTill, sandbox_clean: Sandbox
) -> None:
    till = make_till("v3")
    await till.scanned(scan(JAN_CARD))
    request = ClaimRequest(claim_id="C-1", reward_key=COFFEE_V3)
    first = await till.claim_reward(request)
    assert (first.title, first.credits, first.balance) == ("Free coffee", -50, 100)
    assert await till.claim_reward(request) == first
    with pytest.raises(CounterRefusal) as conflict:
        await till.claim_reward(ClaimRequest(claim_id="C-1", reward_key="other"))
    assert conflict.value.code == "claim_conflict"
    receptions = [row for row in sandbox_clean.ledger() if row["kind"] == "reward_reception"]
    assert len(receptions) == 1


async def test_a_claim_made_while_the_disk_is_full_is_answered_made_and_journaled_later(
    make_till: MakeTill, sandbox_clean: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Register API took the reward; the journal refused the answer (a full disk). The
    cashier hears it was made, not a 503, and the claim id's repeat journals it, once."""
    till = make_till("v3")
    finish = Journal.finish_claim
    refused: list[str] = []
    journals: list[Journal] = []

    async def full_once(journal: Journal, claim_id: str, *args: Any, **kwargs: Any) -> None:
        journals.append(journal)
        if not refused:
            refused.append(claim_id)
            raise JournalUnavailable("database or disk is full", kind="disk_full")
        await finish(journal, claim_id, *args, **kwargs)

    monkeypatch.setattr(Journal, "finish_claim", full_once)
    request = ClaimRequest(claim_id="C-F", reward_key=COFFEE_V3, customer_key=JAN_V3)
    first = await till.claim_reward(request)
    assert (first.title, first.credits, first.balance) == ("Free coffee", -50, 100)
    assert refused == ["C-F"]
    assert await till.claim_reward(request) == first
    with pytest.raises(CounterRefusal) as conflict:
        await till.claim_reward(ClaimRequest(claim_id="C-F", reward_key="other"))
    assert conflict.value.code == "claim_conflict"
    receptions = [row for row in sandbox_clean.ledger() if row["kind"] == "reward_reception"]
    assert len(receptions) == 1
    claim = await journals[-1].reward_claim("C-F")
    assert claim is not None
    assert claim.state is ClaimState.DONE


async def test_a_claim_the_balance_does_not_cover_is_refused_clearly(make_till: MakeTill) -> None:
    till = make_till("v3")
    await till.scanned(scan(AHMED_CARD))
    with pytest.raises(CounterRefusal) as refused:
        await till.claim_reward(ClaimRequest(claim_id="C-2", reward_key=COFFEE_V3))
    assert (refused.value.code, refused.value.status) == ("insufficient_credits", 409)
    assert await till.current_customer() is not None  # a claim does not end the visit
    await till.clear_customer()
    with pytest.raises(CounterRefusal) as nobody:
        await till.claim_reward(ClaimRequest(claim_id="C-3", reward_key=COFFEE_V3))
    assert nobody.value.code == "no_customer"


async def test_claims_are_refused_offline_and_can_be_retried(
    make_till: MakeTill, sandbox_clean: Sandbox
) -> None:
    till = make_till("v3")
    sandbox_clean.set_fault(mode="error_503", count=20, paths=["/api/v3/register/reward"])
    request = ClaimRequest(claim_id="C-4", reward_key=COFFEE_V3, customer_key=JAN_V3)
    with pytest.raises(CounterRefusal) as refused:
        await till.claim_reward(request)
    assert (refused.value.code, refused.value.status) == ("offline", 503)
    sandbox_clean.clear_faults()
    assert (await till.claim_reward(request)).balance == 100


async def test_v1_claims_by_member_id_and_by_card(
    make_till: MakeTill, sandbox_clean: Sandbox
) -> None:
    till = make_till("v1")
    by_member = await till.claim_reward(
        ClaimRequest(claim_id="M-1", reward_key="physical:301", customer_key="7731")
    )
    by_card = await till.claim_reward(
        ClaimRequest(claim_id="M-2", reward_key="external:304", customer_card=JAN_CARD)
    )
    assert (by_member.credits, by_member.balance) == (-50, 100)
    assert (by_card.credits, by_card.balance, by_card.external_property) == (-25, 75, "PLU-3003")
    receptions = [row for row in sandbox_clean.ledger() if row["kind"] == "reward_reception"]
    assert [row["credits"] for row in receptions] == [-50, -25]


async def test_v1_sale_without_a_card_is_staged_through_the_outbox(make_till: MakeTill) -> None:
    till = make_till("v1")
    answer = await till.sell(sale("S-1", "5.00"))
    (staged,) = await till._journal.operations_of_sale("S-1")
    assert (staged.kind, staged.state, staged.customer_key) == (
        STAGED_CREDIT_RECEPTION,
        OperationState.PENDING,
        None,
    )
    # nothing delivered it within the wait: the receipt says so instead of a dead QR
    assert answer.loyalty.state == "none"
    assert answer.loyalty.qr_url is None


async def test_refunds_reprints_and_voids(make_till: MakeTill) -> None:
    till = make_till("v3")
    await till.scanned(scan(JAN_CARD))
    await till.sell(sale("4711"))
    part = RefundRequest(refund_id="R-1", amount=Decimal("2.50"))
    partial = await till.refund("4711", part)
    assert partial.message == "credits will be taken back"
    assert await till.refund("4711", part) == partial  # a resend queues nothing
    with pytest.raises(CounterRefusal) as no_id:
        await till.refund("4711", RefundRequest(amount=Decimal("2.50")))
    assert (no_id.value.code, no_id.value.status) == ("refund_id_required", 422)
    with pytest.raises(CounterRefusal) as too_much:
        await till.refund("4711", RefundRequest(refund_id="R-2", amount=Decimal("20.00")))
    assert too_much.value.code == "refund_too_large"
    reprint = await till.reprint("4711")
    # its receipt has not printed yet (no printer here): the original is asked for again
    assert reprint.message == "the original receipt (never printed) queued for printing"
    await till.void("4711")
    operations = await till._journal.operations_of_sale("4711")
    assert [op.kind for op in operations] == [CREDIT_RECEPTION, "refund", "refund"]
    assert {op.customer_key for op in operations} == {f"card:{JAN_CARD}"}
    assert [stored(op.payload)["amount"] for op in operations[1:]] == ["2.50", None]
    with pytest.raises(CounterRefusal) as closed:
        await till.refund("4711", RefundRequest())
    assert closed.value.code == "sale_closed"
    with pytest.raises(CounterRefusal) as unknown:
        await till.reprint("nope")
    assert (unknown.value.code, unknown.value.status) == ("unknown_sale", 404)


async def test_v1_cannot_take_credits_back(make_till: MakeTill) -> None:
    till = make_till("v1")
    await till.scanned(scan(JAN_CARD))
    await till.sell(sale("V1-1"))
    with pytest.raises(CounterRefusal) as refused:
        await till.refund("V1-1", RefundRequest())
    assert refused.value.code == "refund_unsupported"


async def test_status_counts_the_outbox(make_till: MakeTill) -> None:
    till = make_till("v3")
    await till.scanned(scan(JAN_CARD))
    await till.sell(sale("1"))
    status = await till.status()
    assert (status.register_api, status.outbox_pending, status.alerts) == ("reachable", 1, ())
