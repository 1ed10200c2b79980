"""The giftcard client (v1 and v3) against the sandbox over real loopback HTTP: each call,
each outcome class, a lost answer, and what the sandbox's ledger says was applied."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from register_agent.config import ApiConfig
from register_agent.errors import OutcomeUnknown, RequestRejected
from register_agent.loyalty import GiftcardService, make_loyalty
from tests.conftest import Sandbox

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.timeout(30),
    pytest.mark.usefixtures("no_retry_waits"),
]

CARD, EXPIRED, DIGITAL_ONCE, CAPPED = "GC7F3A9B21", "GC0E1F2A3B", "GC1D2E3F4A", "GC2E3F4A5B"

Make = Callable[[str], GiftcardService]


@pytest.fixture
async def make(sandbox_clean: Sandbox) -> AsyncIterator[Make]:
    made: list[Any] = []

    def build(version: str) -> GiftcardService:
        config = ApiConfig(
            version=version,
            base_url=sandbox_clean.url,
            api_key=sandbox_clean.v1_key if version == "v1" else sandbox_clean.v3_key,
            loyalty_token_secret="sandbox-token-secret",
            connect_timeout_s=1.0,
            read_timeout_s=3.0,
        )
        loyalty = make_loyalty(config)
        made.append(loyalty)
        return loyalty.giftcards

    yield build
    for loyalty in made:
        await loyalty.aclose()


def gift_rows(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"].startswith("giftcard_")]


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_find_pay_top_up_correct(make: Make, sandbox_clean: Sandbox, version: str) -> None:
    cards = make(version)
    card = await cards.find_giftcard(CARD)
    assert (card.balance_cents, card.tail, card.kind) == (2500, "9B21", "PHYSICAL")
    assert CARD not in repr(card)  # a bearer secret never shows in a repr (logs)
    paid = await cards.giftcard_transaction(card.key, -1000)
    topped = await cards.giftcard_transaction(card.key, 300)
    assert (paid.amount_cents, topped.amount_cents) == (-1000, 300)
    with pytest.raises(RequestRejected) as older:
        await cards.correct_transaction(paid.transaction_id)
    assert older.value.code == 55025
    corrected = await cards.correct_transaction(topped.transaction_id)
    assert corrected.amount_cents == -300
    assert (await cards.find_giftcard(CARD)).balance_cents == 1500
    rows = gift_rows(sandbox_clean)
    assert [(r["kind"], r["balance_after_cents"]) for r in rows] == [
        ("giftcard_transaction", 1500),
        ("giftcard_transaction", 1800),
        ("giftcard_correction", 1500),
    ]


@pytest.mark.parametrize("version", ["v1", "v3"])
@pytest.mark.parametrize(
    "case",
    [(CARD, -2501, 5003), (EXPIRED, -100, 5002), (DIGITAL_ONCE, 100, 5006), (CAPPED, 501, 5008)],
)
async def test_refusals_carry_the_code(
    make: Make, sandbox_clean: Sandbox, version: str, case: tuple[str, int, int]
) -> None:
    card, amount, code = case
    cards = make(version)
    found = await cards.find_giftcard(card)
    with pytest.raises(RequestRejected) as refused:
        await cards.giftcard_transaction(found.key, amount)
    assert refused.value.code == code
    assert gift_rows(sandbox_clean) == []


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_unknown_card(make: Make, version: str) -> None:
    cards = make(version)
    with pytest.raises(RequestRejected) as unknown:
        await cards.find_giftcard("GCNOTACARD")
    assert unknown.value.code == 5001


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_lost_answer_is_outcome_unknown(
    make: Make, sandbox_clean: Sandbox, version: str
) -> None:
    cards = make(version)
    card = await cards.find_giftcard(CARD)
    sandbox_clean.set_fault(mode="drop_after_commit", count=1, paths=["/api/v[13]/register/gift"])
    with pytest.raises(OutcomeUnknown):
        await cards.giftcard_transaction(card.key, -400)
    # it landed: the client must not have repeated the POST by itself
    assert [r["balance_after_cents"] for r in gift_rows(sandbox_clean)] == [2100]
