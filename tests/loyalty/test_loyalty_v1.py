"""LoyaltyService over Register API v1: requests as the 2021 API expects them and answers
in the shapes the SDK of that time parsed (docs/register-api.md, "v1 routes")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from register_agent.errors import OutcomeUnknown, RequestRejected
from register_agent.loyalty import (
    CardState,
    CustomerRef,
    LoyaltyService,
    V1Api,
    V1LoyaltyService,
    make_loyalty,
)
from tests.support.loyalty_support import Script, api_config, api_error, form_of, ok, query_of

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_retry_waits")]

REGISTER = {
    "id": 812,
    "name": "Till 1",
    "identifier": "T001",
    "shop": {"id": 44, "name": "Bakkerij Centrum", "loyalty_program": {"id": 9, "name": "Spaar"}},
}
CARD = {
    "id": 55120,
    "hash": "A1B2C3D4",
    "type": "PHYSICAL",
    "status": "ACTIVE",
    "member": {"id": 7731, "email": "jan@example.org"},
}
MEMBER = {"member": {"id": 7731, "email": "jan@example.org"}, "credit_balance": {"balance": 150}}
RECEPTION = {
    "id": 990412,
    "credits": 12,
    "purchase_amount": 12.5,
    "created_at": "2021-10-12T09:41:07+00:00",
    "member": {"id": 7731, "email": "jan@example.org"},
}
STAGED = {
    "id": 30218,
    "hash": "k3Jd9QxP",
    "url": "https://piggy.nl/s/k3Jd9QxP",
    "credits": 8,
    "purchase_amount": 8.75,
    "created_at": "2021-10-12T09:45:00+00:00",
    "credit_reception": None,
}
COFFEE = {
    "id": 301,
    "title": "Free coffee",
    "required_credits": 50,
    "active": True,
    "stock": None,
    "external_property": "PLU-1001",
    "media": {"type": "image", "value": "https://cdn.example/coffee.jpg"},
}
REWARD_RECEPTION = {
    "id": 88121,
    "title": "Free coffee",
    "credits": -50,
    "member": {"id": 7731, "email": "jan@example.org"},
    "physical_reward": {"id": 301, "title": "Free coffee", "required_credits": 50},
    "external_property": "PLU-1001",
}
JAN = CustomerRef(key="7731", card="55120")
JAN_WITHOUT_CARD = CustomerRef(key="7731")


@pytest.fixture
def script() -> Script:
    return Script("v1")


@pytest.fixture
async def loyalty(script: Script) -> AsyncIterator[LoyaltyService]:
    service = make_loyalty(api_config("v1"), script.transport()).service
    yield service
    await service.aclose()


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


async def test_the_factory_picks_v1(loyalty: LoyaltyService) -> None:
    assert isinstance(loyalty, V1LoyaltyService)
    assert not loyalty.can_reconcile
    assert loyalty.stages_online
    assert not loyalty.can_reverse


async def test_register_info_is_fetched_once(loyalty: LoyaltyService, script: Script) -> None:
    script.on("GET", "", ok(REGISTER))
    info = await loyalty.register()
    assert (info.name, info.identifier, info.shop_name, info.shop_key) == (
        "Till 1",
        "T001",
        "Bakkerij Centrum",
        "44",
    )
    await loyalty.register()
    assert len(script.requests) == 1


async def test_a_scanned_card_identifies_the_member_with_balance(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("GET", "/loyalty-cards/find-one-by", ok(CARD)).on("GET", "/members/7731", ok(MEMBER))
    found = await loyalty.identify("A1B2C3D4")
    assert found.state is CardState.ACTIVE
    assert found.usable
    assert found.customer is not None
    assert found.customer.ref == JAN
    assert found.customer.display == "jan@example.org"
    assert found.customer.balance == 150
    assert query_of(script.requests[0]) == {"hash": "A1B2C3D4"}


@pytest.mark.parametrize("code", [55007, 1048])
async def test_an_unknown_card_is_not_a_customer(
    loyalty: LoyaltyService, script: Script, code: int
) -> None:
    script.on("GET", "/loyalty-cards/find-one-by", api_error(code, "Loyalty card not found"))
    found = await loyalty.identify("4006381333931")
    assert found.state is CardState.UNKNOWN
    assert found.customer is None
    assert not found.usable


async def test_an_unregistered_card_says_so(loyalty: LoyaltyService, script: Script) -> None:
    script.on("GET", "/loyalty-cards/find-one-by", ok(with_(CARD, member=None)))
    found = await loyalty.identify("A1B2C3D4")
    assert found.state is CardState.UNREGISTERED
    assert "not registered" in found.reason
    assert len(script.requests) == 1


@pytest.mark.parametrize("status", ["INACTIVE", "DISABLED"])
async def test_an_inactive_card_is_not_usable(
    loyalty: LoyaltyService, script: Script, status: str
) -> None:
    script.on("GET", "/loyalty-cards/find-one-by", ok(with_(CARD, status=status)))
    found = await loyalty.identify("A1B2C3D4")
    assert found.state is CardState.INACTIVE
    assert not found.usable
    assert found.customer is not None
    assert found.customer.ref == JAN


async def test_a_balance_that_cannot_be_read_leaves_the_customer_identified(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("GET", "/loyalty-cards/find-one-by", ok(CARD))
    script.on("GET", "/members/7731", httpx.Response(502))
    found = await loyalty.identify("A1B2C3D4")
    assert found.usable
    assert found.customer is not None
    assert found.customer.balance is None
    assert len(script.seen("GET", "/members/7731")) == 3  # a GET is retried


async def test_credits_for_a_sale_by_card(loyalty: LoyaltyService, script: Script) -> None:
    script.on("POST", "/credit-receptions", ok(with_(RECEPTION, credit_balance={"balance": 162})))
    award = await loyalty.award_credits(JAN, Decimal("12.50"), sale_id="4711", operation_id="op-1")
    (request,) = script.requests
    assert form_of(request) == {"loyalty_card_id": "55120", "purchase_amount": "12.50"}
    assert (award.reception_id, award.credits, award.balance) == ("990412", 12, 162)
    assert award.operation_id == "op-1"


async def test_credits_by_member_read_the_balance_when_the_answer_lacks_it(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("POST", "/credit-receptions", ok(RECEPTION))
    script.on("GET", "/members/7731", ok(MEMBER))
    award = await loyalty.award_credits(
        JAN_WITHOUT_CARD, Decimal("12.50"), sale_id="4711", operation_id="op-1"
    )
    assert form_of(script.requests[0]) == {"member_id": "7731", "purchase_amount": "12.50"}
    assert award.balance == 150


async def test_v1_has_no_pos_transaction_so_6001_is_a_plain_rejection(
    loyalty: LoyaltyService, script: Script
) -> None:
    assert await loyalty.open_pos_transaction("4711", Decimal("12.50")) is None
    script.on("POST", "/credit-receptions", api_error(6001))
    with pytest.raises(RequestRejected) as caught:
        await loyalty.award_credits(JAN, Decimal("1"), sale_id="4711", operation_id="op-1")
    assert type(caught.value) is RequestRejected
    assert caught.value.code == 6001


@pytest.mark.parametrize(("code", "hint"), [(1013, "not registered"), (1010, "not activated")])
async def test_card_problems_at_award_time_are_rejections(
    loyalty: LoyaltyService, script: Script, code: int, hint: str
) -> None:
    script.on("POST", "/credit-receptions", api_error(code))
    with pytest.raises(RequestRejected, match=hint) as caught:
        await loyalty.award_credits(JAN, Decimal("1"), sale_id="1", operation_id="op")
    assert caught.value.code == code
    assert len(script.requests) == 1


async def test_v1_cannot_reconcile(loyalty: LoyaltyService, script: Script) -> None:
    with pytest.raises(OutcomeUnknown, match="review"):
        await loyalty.find_award(JAN, amount=Decimal("1"), since=datetime.now(UTC))
    assert script.requests == []


async def test_staged_credits_for_a_customer_without_a_card(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("POST", "/staged-credit-receptions", ok(STAGED))
    staged = await loyalty.stage_credits("4712", Decimal("8.75"))
    assert form_of(script.requests[0]) == {"purchase_amount": "8.75"}
    assert staged.url == "https://piggy.nl/s/k3Jd9QxP"
    assert (staged.reference, staged.credits) == ("30218", 8)


async def test_the_remaining_reads(script: Script) -> None:
    script.on("GET", "/credit-receptions/990412", ok(RECEPTION))
    script.on(
        "GET", "/staged-credit-receptions/30218", ok(with_(STAGED, credit_reception=RECEPTION))
    )
    service = make_loyalty(api_config("v1"), script.transport()).service
    assert isinstance(service, V1LoyaltyService)
    api: V1Api = service.api
    reception = await api.credit_reception(990412)
    assert reception.purchase_amount == Decimal("12.5")
    staged = await api.staged_credit_reception(30218)
    assert staged.credit_reception is not None
    assert staged.credit_reception.id == 990412
    await service.aclose()


async def test_rewards_of_every_type_cheapest_first(
    loyalty: LoyaltyService, script: Script
) -> None:
    lamp = with_(COFFEE, id=302, title="Lamp", required_credits=500, external_property=None)
    off = with_(COFFEE, id=303, title="Old", active=False)
    voucher = with_(COFFEE, id=401, title="Voucher", required_credits=20, media=None)
    rewards = {"physical": [lamp, COFFEE, off], "digital": [voucher], "external": []}
    script.on("GET", "/rewards", ok(rewards))
    found = await loyalty.list_rewards(JAN_WITHOUT_CARD)
    assert query_of(script.requests[0]) == {"member_id": "7731"}
    assert [(r.key, r.title, r.required_credits) for r in found] == [
        ("digital:401", "Voucher", 20),
        ("physical:301", "Free coffee", 50),
        ("physical:302", "Lamp", 500),
    ]
    assert found[1].external_property == "PLU-1001"


async def test_claiming_a_reward_by_member(loyalty: LoyaltyService, script: Script) -> None:
    script.on("POST", "/rewards/physical/reward-reception", ok(REWARD_RECEPTION))
    script.on("GET", "/members/7731", ok(with_(MEMBER, credit_balance={"balance": 100})))
    claim = await loyalty.claim_reward(JAN_WITHOUT_CARD, "physical:301")
    assert form_of(script.requests[0]) == {"reward_id": "301", "member_id": "7731"}
    assert (claim.claim_id, claim.title, claim.credits, claim.balance) == (
        "88121",
        "Free coffee",
        -50,
        100,
    )
    assert claim.external_property == "PLU-1001"


async def test_claiming_a_reward_by_card(loyalty: LoyaltyService, script: Script) -> None:
    claimed = with_(REWARD_RECEPTION, credit_balance={"balance": 7}, physical_reward=None)
    script.on("POST", "/rewards/digital/reward-reception", ok(with_(claimed, id=9)))
    claim = await loyalty.claim_reward(JAN, "digital:401")
    assert form_of(script.requests[0]) == {"reward_id": "401", "loyalty_card_id": "55120"}
    assert claim.balance == 7
    assert len(script.requests) == 1


async def test_insufficient_credits_is_a_rejection(loyalty: LoyaltyService, script: Script) -> None:
    script.on("POST", "/rewards/physical/reward-reception", api_error(1017, "Onvoldoende punten"))
    with pytest.raises(RequestRejected, match="too few credits"):
        await loyalty.claim_reward(JAN, "physical:301")


@pytest.mark.parametrize("key", ["301", "gift:301", "physical:abc"])
async def test_a_bad_reward_key_sends_nothing(
    loyalty: LoyaltyService, script: Script, key: str
) -> None:
    with pytest.raises(RequestRejected):
        await loyalty.claim_reward(JAN, key)
    assert script.requests == []


async def test_a_v3_customer_cannot_be_sent_to_v1(loyalty: LoyaltyService, script: Script) -> None:
    v3_customer = CustomerRef(key="0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10")
    with pytest.raises(RequestRejected, match=r"api\.version"):
        await loyalty.award_credits(v3_customer, Decimal("1"), sale_id="1", operation_id="op")
    assert script.requests == []


async def test_v1_has_no_reverse(loyalty: LoyaltyService, script: Script) -> None:
    with pytest.raises(RequestRejected, match="no reverse"):
        await loyalty.reverse_award("990412")
    with pytest.raises(RequestRejected, match="no reverse"):
        await loyalty.reverse_claim("88121")
    assert script.requests == []


async def test_no_rewards_at_all_may_come_as_an_empty_php_array(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("GET", "/rewards", ok([], meta=[]))
    assert await loyalty.list_rewards(JAN) == []


async def test_a_failed_balance_read_after_an_award_keeps_the_award(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("POST", "/credit-receptions", ok(RECEPTION))
    script.on("GET", "/members/7731", api_error(401, status=401))
    award = await loyalty.award_credits(JAN, Decimal("12.50"), sale_id="4711", operation_id="op")
    assert (award.reception_id, award.credits, award.balance) == ("990412", 12, None)
