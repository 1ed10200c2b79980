"""LoyaltyService over Register API v3: requests as the docs name them and answers in the
shapes of the docs' examples, the POS-transaction guard and reconciliation."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from register_agent.errors import (
    AlreadyApplied,
    ConfigError,
    NotApplied,
    OutcomeUnknown,
    RequestRejected,
)
from register_agent.loyalty import (
    CardState,
    CustomerRef,
    LoyaltyService,
    RegisterInfo,
    V3LoyaltyService,
    make_loyalty,
)
from register_agent.loyalty.tokens import mint_loyalty_token
from register_agent.loyalty.v3 import service as service_v3
from tests.support.loyalty_support import (
    TOKEN_SECRET,
    Script,
    api_config,
    api_error,
    form_of,
    ok,
    query_of,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_retry_waits")]

CONTACT = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
POS = "5d0b2c1e-8f7a-4f39-b1d2-6c3e9a4f2b77"
RECEPTION_UUID = "a6c1f0d2-77b4-4a8e-9c3f-1e2d3c4b5a69"
SHOP_UUID = "b7d4e1a0-2c3f-4d5e-8f90-1a2b3c4d5e6f"
REWARD_UUID = "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
CLAIM_UUID = "c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e0f"

REGISTER = {
    "id": 812,
    "name": "Till 1",
    "identifier": "T001",
    "shop": {"id": 44, "uuid": SHOP_UUID, "name": "Bakkerij Centrum"},
}
IDENTIFIER = {
    "name": "Loyalty card",
    "value": "A1B2C3D4",
    "active": True,
    "contact": {"uuid": CONTACT, "email": "jan@example.org"},
}
POS_TRANSACTION = {
    "uuid": POS,
    "transaction_id": "R-2024-000913",
    "terminal_id": "T001",
    "created_at": "2024-03-02T11:05:10+00:00",
    "amount_in_cents": 1250,
}
SHOP = {"id": 44, "uuid": SHOP_UUID, "type": "physical", "name": "Bakkerij Centrum"}
RECEPTION = {
    "uuid": RECEPTION_UUID,
    "type": "credit_reception",
    "credits": 12,
    "unit_value": 12.5,
    "unit": {"id": 3, "name": "purchase_amount", "label": "Purchase Amount", "prefix": "€"},
    "created_at": "2024-03-02T11:05:12+00:00",
    "channel": "REGISTER",
    "contact": {
        "uuid": CONTACT,
        "email": "jan@example.org",
        "credit_balance": {"id": 40021, "balance": 162},
    },
    "shop": SHOP,
    "contact_identifier": {"name": "Loyalty card", "value": "A1B2C3D4", "active": True},
    "agent_operation_id": "op-1",
}
REWARD = {
    "id": 301,
    "uuid": REWARD_UUID,
    "title": "Free coffee",
    "type": "PHYSICAL",
    "reward_type": "PHYSICAL",
    "is_active": True,
    "description": None,
    "required_credits": 50,
    "media": {"type": "image", "value": "https://cdn.example/coffee.jpg"},
    "pre_redeemable": False,
    "expiration_duration": None,
    "mypos_plu": "1001",
}
REWARD_RECEPTION = {
    "uuid": CLAIM_UUID,
    "type": "reward_reception",
    "title": "Free coffee",
    "credits": -50,
    "created_at": "2024-03-02T11:06:00+00:00",
    "contact": {"uuid": CONTACT, "email": "jan@example.org", "credit_balance": {"balance": 112}},
    "shop": SHOP,
    "contact_identifier": None,
    "reward": {"uuid": REWARD_UUID, "title": "Free coffee", "reward_type": "PHYSICAL"},
    "expires_at": None,
    "has_been_collected": True,
}
JAN = CustomerRef(key=CONTACT, card="A1B2C3D4")


@pytest.fixture
def script() -> Script:
    return Script("v3")


@pytest.fixture
async def loyalty(script: Script) -> AsyncIterator[LoyaltyService]:
    service = make_loyalty(api_config("v3"), script.transport()).service
    yield service
    await service.aclose()


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def transaction(uuid_tail: int, **fields: Any) -> dict[str, Any]:
    return {
        "uuid": f"00000000-0000-4000-8000-{uuid_tail:012d}",
        "type": "credit_reception",
        "credits": 5,
        "created_at": "2024-03-02T11:00:00+00:00",
        **fields,
    }


async def test_the_factory_picks_v3(loyalty: LoyaltyService) -> None:
    assert isinstance(loyalty, V3LoyaltyService)
    assert 1.9 < loyalty.counter_deadline().remaining() <= 2.0  # api.counter_deadline_s
    assert loyalty.can_reconcile
    assert not loyalty.stages_online
    assert loyalty.can_reverse


async def test_register_info_names_the_shop_uuid(loyalty: LoyaltyService, script: Script) -> None:
    script.on("GET", "", ok(REGISTER, meta=[]))
    info = await loyalty.register()
    assert (info.identifier, info.shop_key) == ("T001", SHOP_UUID)


async def test_a_scanned_card_identifies_the_contact_with_balance(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("GET", "/contact-identifiers/find", ok(IDENTIFIER, meta=[]))
    # the contact, not its credit-balance: the same one read brings the attributes along
    contact = {
        "uuid": CONTACT,
        "email": "jan@example.org",
        "credit_balance": {"balance": 150},
        "current_values": {"tier": "1", "firstname": "Jan", "city": None, "housenumber": 12},
        "current_display_values": {
            "tier": "Gold",
            "firstname": "Jan",
            "city": "",
            "uuid": CONTACT,
            "custom_app_login_url": "https://leat.example/home?token=secret",
            "loyalty_balance": "150",
            "subscription_status_1": "Unsubscribed",
        },
        "attributes": [],
    }
    script.on("GET", f"/contacts/{CONTACT}", ok(contact, meta=[]))
    found = await loyalty.identify("A1B2C3D4")
    assert found.usable
    assert found.customer is not None
    assert found.customer.ref == JAN
    assert found.customer.balance == 150
    # display values first, raw values for the rest; the platform's own fields left out
    assert found.customer.attributes == {"tier": "Gold", "firstname": "Jan", "housenumber": "12"}
    assert "Gold" not in repr(found.customer)
    assert len(script.requests) == 2
    assert query_of(script.requests[0]) == {"contact_identifier_value": "A1B2C3D4"}


@pytest.mark.parametrize(
    ("answer", "state"),
    [
        (api_error(60003, "Contact identifier not found"), CardState.UNKNOWN),
        (api_error(60004, "Contact identifier inactive"), CardState.INACTIVE),
        (ok(with_(IDENTIFIER, contact=None)), CardState.UNREGISTERED),
        (ok(with_(IDENTIFIER, active=False)), CardState.INACTIVE),
    ],
    ids=["unknown", "inactive-code", "unregistered", "inactive-flag"],
)
async def test_scans_that_are_not_a_usable_customer(
    loyalty: LoyaltyService, script: Script, answer: httpx.Response, state: CardState
) -> None:
    script.on("GET", "/contact-identifiers/find", answer)
    found = await loyalty.identify("A1B2C3D4")
    assert found.state is state
    assert not found.usable
    assert found.reason
    assert len(script.requests) == 1  # no balance read for an unusable card


async def test_identify_is_not_applied_when_the_api_is_down(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("GET", "/contact-identifiers/find", httpx.ConnectError("refused"))
    with pytest.raises(NotApplied):
        await loyalty.identify("A1B2C3D4")


async def test_the_pos_transaction_names_the_sale_and_the_till(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("GET", "", ok(REGISTER)).on("POST", "/pos-transactions", ok(POS_TRANSACTION, meta=[]))
    uuid = await loyalty.open_pos_transaction("R-2024-000913", Decimal("12.50"))
    assert uuid == POS
    assert form_of(script.seen("POST", "/pos-transactions")[0]) == {
        "amount_in_cents": "1250",
        "transaction_id": "R-2024-000913",
        "terminal_id": "T001",
    }


async def test_credits_link_the_pos_transaction_and_carry_the_operation_id(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("POST", "/credit-receptions", ok(RECEPTION))
    award = await loyalty.award_credits(
        JAN, Decimal("12.50"), sale_id="R-2024-000913", operation_id="op-1", pos_transaction=POS
    )
    (request,) = script.requests
    assert form_of(request) == {
        "contact_uuid": CONTACT,
        "unit_name": "purchase_amount",
        "unit_value": "12.50",
        "contact_identifier_value": "A1B2C3D4",
        "pos_transaction_uuid": POS,
        "agent_operation_id": "op-1",
    }
    assert (award.reception_id, award.credits, award.balance) == (RECEPTION_UUID, 12, 162)
    assert award.operation_id == "op-1"
    assert award.created_at == datetime(2024, 3, 2, 11, 5, 12, tzinfo=UTC)


async def test_credits_without_a_stored_pos_transaction_create_one_first(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on("GET", "", ok(REGISTER)).on("POST", "/pos-transactions", ok(POS_TRANSACTION))
    script.on("POST", "/credit-receptions", ok(RECEPTION))
    await loyalty.award_credits(JAN, Decimal("12.50"), sale_id="R-1", operation_id="op-1")
    assert [r.url.path.rsplit("/", 1)[-1] for r in script.requests] == [
        "register",
        "pos-transactions",
        "credit-receptions",
    ]
    assert form_of(script.requests[2])["pos_transaction_uuid"] == POS


async def test_6001_on_our_pos_transaction_is_already_applied(
    loyalty: LoyaltyService, script: Script
) -> None:
    script.on(
        "POST",
        "/credit-receptions",
        api_error(6001, "The POS transaction is already linked to a credit reception."),
    )
    with pytest.raises(AlreadyApplied) as caught:
        await loyalty.award_credits(
            JAN, Decimal("12.50"), sale_id="R-1", operation_id="op-1", pos_transaction=POS
        )
    assert caught.value.code == 6001
    assert isinstance(caught.value.__cause__, RequestRejected)
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        api_error(60001, "Credit reception creating in progress"),
        httpx.ReadTimeout("timed out"),
        httpx.Response(502),
    ],
    ids=["60001", "read-timeout", "502"],
)
async def test_an_ambiguous_award_is_never_sent_twice(
    loyalty: LoyaltyService, script: Script, answer: httpx.Response | Exception
) -> None:
    script.on("POST", "/credit-receptions", answer, ok(RECEPTION))
    with pytest.raises(OutcomeUnknown):
        await loyalty.award_credits(
            JAN, Decimal("12.50"), sale_id="R-1", operation_id="op-1", pos_transaction=POS
        )
    assert len(script.requests) == 1


SINCE = datetime(2024, 3, 2, 10, 58, tzinfo=UTC)
OTHER_SHOP = {"id": 45, "uuid": "another-shop"}


async def test_reconciliation_finds_the_award_by_documented_fields_only(
    loyalty: LoyaltyService, script: Script
) -> None:
    page1 = [
        transaction(1, unit_value=12.5, created_at="2024-03-02T10:00:00+00:00"),  # before
        transaction(2, unit_value=9.5),  # another amount
        transaction(3, unit_value=12.5, credits=-12),  # credits taken, not given
        transaction(4, unit_value=12.5, shop=OTHER_SHOP),  # another shop
    ]
    # the attribute names another operation: it rules nothing out (not documented there)
    page2 = [transaction(5, credits=12, unit_value=12.5, agent_operation_id="op-0")]
    path = f"/contacts/{CONTACT}/loyalty-transactions"
    script.on("GET", "", ok(REGISTER, meta=[]))
    script.on(
        "GET",
        path,
        ok(page1, meta={"page": 1, "limit": 100, "last_page": 2, "total": 5}),
        ok(page2, meta={"page": 2, "limit": 100, "last_page": 2, "total": 5}),
    )
    (found,) = await loyalty.find_award(JAN, amount=Decimal("12.50"), since=SINCE)
    assert (found.reception_id, found.credits) == ("00000000-0000-4000-8000-000000000005", 12)
    assert [query_of(r) for r in script.requests[1:]] == [
        {"page": "1", "limit": "100", "type": "credit_receptions"},
        {"page": "2", "limit": "100", "type": "credit_receptions"},
    ]


async def test_reconciliation_keeps_an_entry_that_lacks_a_field(
    loyalty: LoyaltyService, script: Script
) -> None:
    path = f"/contacts/{CONTACT}/loyalty-transactions"
    script.on("GET", "", ok(REGISTER, meta=[]))
    entries = [transaction(1, attributes=[]), transaction(2, unit_value=12.5)]
    script.on("GET", path, ok(entries, meta=[]))
    found = await loyalty.find_award(JAN, amount=Decimal("12.50"), since=SINCE)
    assert len(found) == 2  # two that cannot be told apart: the caller sees both


async def test_reconciliation_that_runs_out_of_pages_stays_unknown(
    loyalty: LoyaltyService, script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_v3, "MAX_RECONCILE_PAGES", 2)
    path = f"/contacts/{CONTACT}/loyalty-transactions"
    script.on("GET", "", ok(REGISTER, meta=[]))
    script.on("GET", path, ok([transaction(1)], meta={"page": 1, "last_page": 9}))
    with pytest.raises(OutcomeUnknown, match="review"):
        await loyalty.find_award(JAN, amount=Decimal("1"), since=SINCE)
    assert len(script.requests) == 3


async def test_staged_credits_are_a_token_minted_without_the_api(script: Script) -> None:
    info = RegisterInfo(name="Till 1", identifier="T001", shop_name="B", shop_key=SHOP_UUID)
    loyalty = make_loyalty(api_config("v3"), script.transport(), register=info).service
    issued = datetime(2024, 3, 2, 11, 0, tzinfo=UTC)
    staged = await loyalty.stage_credits("4711", Decimal("12.50"), issued_at=issued)
    await loyalty.aclose()
    assert script.requests == []
    expected = mint_loyalty_token(
        portal_url="https://portal.test",
        shop_uuid=SHOP_UUID,
        unique_id="T001-4711",
        unit_value=Decimal("12.5"),
        timestamp=int(issued.timestamp()),
        secret=TOKEN_SECRET,
    )
    assert staged.url == expected.url
    assert staged.reference == "T001-4711"
    query = dict(parse_qsl(urlsplit(staged.url).query))
    assert query["unit_value"] == "12.5"
    assert TOKEN_SECRET not in staged.url


async def test_staged_credits_read_the_register_once_and_prefer_the_configured_shop(
    script: Script,
) -> None:
    script.on("GET", "", ok(REGISTER))
    config = api_config("v3", shop_uuid="11111111-2222-4333-8444-555555555555")
    loyalty = make_loyalty(config, script.transport()).service
    first = await loyalty.stage_credits("1", Decimal("3"))
    await loyalty.stage_credits("2", Decimal("3"))
    await loyalty.aclose()
    assert len(script.requests) == 1
    assert "shop_uuid=11111111-2222-4333-8444-555555555555" in first.url


async def test_staged_credits_need_the_token_secret(script: Script) -> None:
    info = RegisterInfo(name="Till 1", identifier="T001", shop_name="B", shop_key=SHOP_UUID)
    config = api_config("v3", loyalty_token_secret=None)
    loyalty = make_loyalty(config, script.transport(), register=info).service
    with pytest.raises(ConfigError, match="loyalty-token-secret"):
        await loyalty.stage_credits("1", Decimal("3"))
    await loyalty.aclose()


async def test_rewards_for_the_contact(loyalty: LoyaltyService, script: Script) -> None:
    inactive = with_(REWARD, uuid="6e2b9d4a-0000-4b5d-8e7f-9a0b1c2d3e4f", is_active=False)
    script.on("GET", "/rewards", ok([REWARD, inactive]))
    (reward,) = await loyalty.list_rewards(JAN)
    assert query_of(script.requests[0]) == {"contact_uuid": CONTACT}
    assert (reward.key, reward.title, reward.required_credits, reward.kind) == (
        REWARD_UUID,
        "Free coffee",
        50,
        "physical",
    )


async def test_claiming_a_reward(loyalty: LoyaltyService, script: Script) -> None:
    script.on("POST", "/reward-receptions", ok(REWARD_RECEPTION))
    claim = await loyalty.claim_reward(JAN, REWARD_UUID)
    assert form_of(script.requests[0]) == {
        "contact_uuid": CONTACT,
        "reward_uuid": REWARD_UUID,
        "contact_identifier_value": "A1B2C3D4",
    }
    assert (claim.claim_id, claim.title, claim.credits, claim.balance) == (
        CLAIM_UUID,
        "Free coffee",
        -50,
        112,
    )


@pytest.mark.parametrize("code", [1017, 1018, 1019, 1052])
async def test_a_refused_claim_is_a_rejection_sent_once(
    loyalty: LoyaltyService, script: Script, code: int
) -> None:
    script.on("POST", "/reward-receptions", api_error(code))
    with pytest.raises(RequestRejected) as caught:
        await loyalty.claim_reward(JAN, REWARD_UUID)
    assert caught.value.code == code
    assert len(script.requests) == 1


async def test_reverses_are_posts(loyalty: LoyaltyService, script: Script) -> None:
    reversal = with_(RECEPTION, uuid="11111111-0000-4000-8000-000000000001", credits=-12)
    giveback = with_(RECEPTION, uuid="11111111-0000-4000-8000-000000000002", credits=50)
    script.on("POST", f"/credit-receptions/{RECEPTION_UUID}/reverse", ok(reversal))
    script.on("POST", f"/reward-receptions/{CLAIM_UUID}/reverse", ok(giveback))
    undone = await loyalty.reverse_award(RECEPTION_UUID)
    returned = await loyalty.reverse_claim(CLAIM_UUID)
    assert (undone.credits, returned.credits) == (-12, 50)
    assert [r.method for r in script.requests] == ["POST", "POST"]


async def test_the_remaining_v3_calls(script: Script) -> None:
    script.on("GET", f"/contacts/{CONTACT}", ok({"uuid": CONTACT, "email": "jan@example.org"}))
    script.on("POST", "/loyalty-tokens", ok(RECEPTION))
    service = make_loyalty(api_config("v3"), script.transport()).service
    assert isinstance(service, V3LoyaltyService)
    contact = await service.api.contact(CONTACT)
    assert contact.email == "jan@example.org"
    token = mint_loyalty_token(
        portal_url="https://portal.test",
        shop_uuid=SHOP_UUID,
        unique_id="T001-9",
        unit_value=Decimal("8.75"),
        timestamp=1700000000,
        secret=TOKEN_SECRET,
    )
    claimed = await service.api.claim_loyalty_token(token, CONTACT)
    assert claimed.credits == 12
    assert form_of(script.requests[1]) == {
        "version": "v3",
        "shop_uuid": SHOP_UUID,
        "unique_id": "T001-9",
        "timestamp": "1700000000",
        "unit_name": "purchase_amount",
        "unit_value": "8.75",
        "hash": token.hash,
        "contact_uuid": CONTACT,
    }
    await service.aclose()


def test_a_customer_ref_never_shows_the_whole_card() -> None:
    assert "A1B2C3D4" not in repr(JAN)
    assert "…C3D4" in repr(JAN)  # the last 4 characters at most: never a full card value
    assert CONTACT in repr(JAN)


async def test_ids_from_outside_cannot_leave_their_path_segment(
    loyalty: LoyaltyService, script: Script
) -> None:
    with pytest.raises(RequestRejected):  # the fake answers 404 for any unknown route
        await loyalty.reverse_claim("../../credit-receptions")
    (request,) = script.requests
    assert (
        request.url.raw_path
        == b"/api/v3/register/reward-receptions/%2E%2E%2F%2E%2E%2Fcredit-receptions/reverse"
    )


async def test_logs_never_carry_the_scanned_value(
    loyalty: LoyaltyService, script: Script, caplog: pytest.LogCaptureFixture
) -> None:
    script.on("GET", "/contact-identifiers/find", ok(IDENTIFIER))
    script.on("GET", f"/contacts/{CONTACT}/credit-balance", httpx.Response(500))
    with caplog.at_level(logging.DEBUG):
        await loyalty.identify("A1B2C3D4")
    assert "contact-identifiers/find" in caplog.text  # httpx logged the request...
    assert "A1B2C3D4" not in caplog.text  # ...without its query
