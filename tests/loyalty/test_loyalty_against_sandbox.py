"""The loyalty client against the sandbox Register API over real loopback HTTP, v1 and v3:
every call the till makes, every outcome class, and each fault mode, checked on the
sandbox's ledger (what was really applied) rather than on the client's word alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from register_agent.config import ApiConfig
from register_agent.errors import (
    AlreadyApplied,
    CredentialsRejected,
    NotApplied,
    OutcomeUnknown,
    RequestRejected,
)
from register_agent.loyalty import (
    CardState,
    CustomerRef,
    Deadline,
    LoyaltyService,
    V1LoyaltyService,
    V3LoyaltyService,
    make_loyalty,
    mint_loyalty_token,
    set_testing,
)
from tests.conftest import Sandbox
from tests.support.asked import record_asyncio
from tests.support.ports import closed_port

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.timeout(30),
    pytest.mark.usefixtures("no_retry_waits"),
]

TOKEN_SECRET = "sandbox-token-secret"
JAN_V3 = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
AHMED_V3 = "8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a"
COFFEE_V3 = "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
JAN_V1 = CustomerRef(key="7731", card="55120")
JAN = CustomerRef(key=JAN_V3, card="A1B2C3D4")
CREDIT_RECEPTIONS = r"/api/v[13]/register/credit-receptions$"

MakeService = Callable[..., LoyaltyService]


@pytest.fixture
async def make(sandbox_clean: Sandbox) -> AsyncIterator[MakeService]:
    """Builds services on the real transport against the freshly reset sandbox."""
    made: list[LoyaltyService] = []

    def build(version: str, **overrides: Any) -> LoyaltyService:
        values: dict[str, Any] = {
            "version": version,
            "base_url": sandbox_clean.url,
            "api_key": sandbox_clean.v1_key if version == "v1" else sandbox_clean.v3_key,
            "loyalty_token_secret": TOKEN_SECRET,
            "loyalty_token_base_url": sandbox_clean.url,
            "connect_timeout_s": 1.0,
            "read_timeout_s": 3.0,
        }
        service = make_loyalty(ApiConfig(**{**values, **overrides})).service
        made.append(service)
        return service

    yield build
    for service in made:
        await service.aclose()


def receptions(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] == "credit_reception"]


def fired(sandbox: Sandbox) -> int:
    """How often the (count-less) active faults fired: the requests that met them."""
    total: int = sum(
        fault["fired"]
        for fault in sandbox.http.get(f"{sandbox.url}/_sandbox/faults").json()["data"]
    )
    return total


def count_requests(sandbox: Sandbox, path: str) -> None:
    # a zero-latency fault changes nothing but counts every request that meets it
    sandbox.set_fault(mode="latency", latency_ms=0, paths=[path])


# --- v1 -----------------------------------------------------------------------------------


async def test_v1_register_and_identify(make: MakeService) -> None:
    loyalty = make("v1")
    assert isinstance(loyalty, V1LoyaltyService)
    info = await loyalty.register()
    assert (info.identifier, info.shop_key) == ("T002", "44")
    jan = await loyalty.identify("A1B2C3D4")
    assert jan.usable
    assert jan.customer is not None
    assert jan.customer.ref == JAN_V1
    assert jan.customer.balance == 150
    assert (await loyalty.identify("4006381333931")).state is CardState.UNKNOWN
    assert (await loyalty.identify("D4E5F6A7")).state is CardState.UNREGISTERED
    assert (await loyalty.identify("E5F6A7B8")).state is CardState.INACTIVE


async def test_v1_award_by_card_and_by_member(make: MakeService, sandbox_clean: Sandbox) -> None:
    loyalty = make("v1")
    award = await loyalty.award_credits(
        JAN_V1, Decimal("12.50"), sale_id="4711", operation_id="op-1"
    )
    assert (award.credits, award.balance) == (12, 162)
    by_member = await loyalty.award_credits(
        CustomerRef(key="7731"), Decimal("3.99"), sale_id="4712", operation_id="op-2"
    )
    assert (by_member.credits, by_member.balance) == (3, 165)
    rows = receptions(sandbox_clean)
    assert [(r["card"], r["member"]["id"], r["credits"], r["amount"]) for r in rows] == [
        ("A1B2C3D4", 7731, 12, "12.50"),
        (None, 7731, 3, "3.99"),
    ]
    assert await loyalty.balance(CustomerRef(key="7731")) == 165
    assert isinstance(loyalty, V1LoyaltyService)
    fetched = await loyalty.api.credit_reception(int(award.reception_id))
    assert fetched.purchase_amount == Decimal("12.50")


async def test_v1_card_problems_are_rejections(make: MakeService) -> None:
    loyalty = make("v1")
    inactive_card = CustomerRef(key="7731", card="55125")
    with pytest.raises(RequestRejected) as caught:
        await loyalty.award_credits(inactive_card, Decimal("5"), sale_id="1", operation_id="op")
    assert caught.value.code == 1010


async def test_v1_staged_credits_are_claimed_once(
    make: MakeService, sandbox_clean: Sandbox
) -> None:
    loyalty = make("v1")
    staged = await loyalty.stage_credits("4713", Decimal("8.75"))
    assert staged.credits == 8
    assert staged.url.startswith(f"{sandbox_clean.url}/s/")
    first = sandbox_clean.claim(staged.url, 7732)
    assert first.json()["data"]["credits"] == 8
    assert sandbox_clean.claim(staged.url, 7732).json()["code"] == 1034
    assert isinstance(loyalty, V1LoyaltyService)
    again = await loyalty.api.staged_credit_reception(int(staged.reference))
    assert again.credit_reception is not None


async def test_v1_rewards_and_claims(make: MakeService, sandbox_clean: Sandbox) -> None:
    loyalty = make("v1")
    rewards = await loyalty.list_rewards(JAN_V1)
    keys = {reward.key: reward for reward in rewards}
    assert {"physical:301", "digital:303", "external:304"} <= set(keys)
    assert keys["external:304"].external_property == "PLU-3003"
    claim = await loyalty.claim_reward(JAN_V1, "physical:301")
    assert (claim.credits, claim.balance, claim.external_property) == (-50, 100, "PLU-1001")
    claim_by_member = await loyalty.claim_reward(CustomerRef(key="7731"), "external:304")
    assert (claim_by_member.credits, claim_by_member.balance) == (-25, 75)
    kinds = [row["kind"] for row in sandbox_clean.ledger()]
    assert kinds.count("reward_reception") == 2


async def test_v1_insufficient_credits_is_rejected_once(
    make: MakeService, sandbox_clean: Sandbox
) -> None:
    loyalty = make("v1")
    count_requests(sandbox_clean, "/api/v1/register/rewards/physical/reward-reception")
    with pytest.raises(RequestRejected) as caught:
        await loyalty.claim_reward(CustomerRef(key="7733"), "physical:301")
    assert caught.value.code == 1017
    assert fired(sandbox_clean) == 1
    assert sandbox_clean.ledger() == []


async def test_v1_cannot_reverse_or_reconcile(make: MakeService) -> None:
    loyalty = make("v1")
    with pytest.raises(RequestRejected):
        await loyalty.reverse_award("1")
    with pytest.raises(OutcomeUnknown):
        await loyalty.find_award(JAN_V1, amount=Decimal("1"), since=datetime.now(UTC))


# --- v3 -----------------------------------------------------------------------------------


async def test_v3_register_and_identify(make: MakeService) -> None:
    loyalty = make("v3")
    info = await loyalty.register()
    assert (info.identifier, info.shop_key) == ("T001", "b7d4e1a0-2c3f-4d5e-8f90-1a2b3c4d5e6f")
    jan = await loyalty.identify("A1B2C3D4")
    assert jan.usable
    assert jan.customer is not None
    assert jan.customer.ref == JAN
    assert jan.customer.balance == 150
    assert (await loyalty.identify("4006381333931")).state is CardState.UNKNOWN
    assert (await loyalty.identify("D4E5F6A7")).state is CardState.UNREGISTERED
    assert (await loyalty.identify("E5F6A7B8")).state is CardState.INACTIVE


async def test_v3_award_in_two_steps_is_guarded_by_the_pos_transaction(
    make: MakeService, sandbox_clean: Sandbox
) -> None:
    loyalty = make("v3")
    pos = await loyalty.open_pos_transaction("R-4711", Decimal("12.50"))
    assert pos is not None
    award = await loyalty.award_credits(
        JAN, Decimal("12.50"), sale_id="R-4711", operation_id="op-1", pos_transaction=pos
    )
    assert (award.credits, award.balance) == (12, 162)
    (row,) = receptions(sandbox_clean)
    assert row["pos_transaction"] == pos
    assert row["attributes"] == {"agent_operation_id": "op-1"}
    assert row["card"] == "A1B2C3D4"
    # the same operation sent again: the POS transaction says it is done
    with pytest.raises(AlreadyApplied):
        await loyalty.award_credits(
            JAN, Decimal("12.50"), sale_id="R-4711", operation_id="op-1", pos_transaction=pos
        )
    assert len(receptions(sandbox_clean)) == 1
    since = datetime.now(UTC) - timedelta(minutes=2)
    (found,) = await loyalty.find_award(JAN, amount=Decimal("12.50"), since=since)
    assert (found.reception_id, found.credits) == (award.reception_id, 12)
    assert await loyalty.find_award(JAN, amount=Decimal("9.99"), since=since) == []


async def test_v3_award_in_one_step(make: MakeService, sandbox_clean: Sandbox) -> None:
    loyalty = make("v3")
    award = await loyalty.award_credits(
        CustomerRef(key=JAN_V3), Decimal("20"), sale_id="R-1", operation_id="op-9"
    )
    assert award.credits == 20
    (row,) = receptions(sandbox_clean)
    assert row["pos_transaction"] is not None
    assert await loyalty.balance(JAN) == 170


async def test_v3_loyalty_token_is_accepted_by_the_sandbox(
    make: MakeService, sandbox_clean: Sandbox
) -> None:
    loyalty = make("v3")
    staged = await loyalty.stage_credits("R-4712", Decimal("12.50"))
    assert staged.reference == "T001-R-4712"
    assert "unit_value=12.5&" in staged.url
    claimed = sandbox_clean.claim(staged.url, JAN_V3)
    assert claimed.json()["data"]["credits"] == 12
    assert sandbox_clean.claim(staged.url, JAN_V3).json()["code"] == 1034


async def test_v3_loyalty_token_claim_call(make: MakeService, sandbox_clean: Sandbox) -> None:
    loyalty = make("v3")
    assert isinstance(loyalty, V3LoyaltyService)
    token = mint_loyalty_token(
        portal_url=sandbox_clean.url,
        shop_uuid="b7d4e1a0-2c3f-4d5e-8f90-1a2b3c4d5e6f",
        unique_id="T001-R-9",
        unit_value=Decimal("7.00"),
        timestamp=int(time.time()),
        secret=TOKEN_SECRET,
    )
    reception = await loyalty.api.claim_loyalty_token(token, AHMED_V3)
    assert reception.credits == 7
    with pytest.raises(RequestRejected) as caught:
        await loyalty.api.claim_loyalty_token(token, AHMED_V3)
    assert caught.value.code == 1034


async def test_v3_rewards_claims_and_reverses(make: MakeService, sandbox_clean: Sandbox) -> None:
    loyalty = make("v3")
    rewards = await loyalty.list_rewards(JAN)
    assert COFFEE_V3 in {reward.key for reward in rewards}
    claim = await loyalty.claim_reward(JAN, COFFEE_V3)
    assert (claim.credits, claim.balance) == (-50, 100)
    given_back = await loyalty.reverse_claim(claim.claim_id)
    assert given_back.credits == 50
    award = await loyalty.award_credits(JAN, Decimal("10"), sale_id="R-2", operation_id="op-2")
    undone = await loyalty.reverse_award(award.reception_id)
    assert undone.credits == -10
    assert await loyalty.balance(JAN) == 150
    kinds = [row["kind"] for row in sandbox_clean.ledger()]
    assert kinds.count("reward_reception") == 1
    with pytest.raises(RequestRejected):
        await loyalty.claim_reward(CustomerRef(key=AHMED_V3), COFFEE_V3)


async def test_v3_contact(make: MakeService) -> None:
    loyalty = make("v3")
    assert isinstance(loyalty, V3LoyaltyService)
    contact = await loyalty.api.contact(JAN_V3)
    assert contact.email == "jan@example.org"


# --- outcomes and faults, both versions ---------------------------------------------------

VERSIONS = pytest.mark.parametrize("version", ["v1", "v3"])


def customer(version: str) -> CustomerRef:
    return JAN_V1 if version == "v1" else JAN


@VERSIONS
async def test_drop_after_commit_is_unknown_and_the_ledger_shows_it(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    loyalty = make(version)
    pos = await loyalty.open_pos_transaction("R-5", Decimal("12.50"))
    sandbox_clean.set_fault(mode="drop_after_commit", paths=[CREDIT_RECEPTIONS])
    with pytest.raises(OutcomeUnknown):
        await loyalty.award_credits(
            customer(version),
            Decimal("12.50"),
            sale_id="R-5",
            operation_id="op-5",
            pos_transaction=pos,
            deadline=Deadline.after(5),
        )
    assert fired(sandbox_clean) == 1  # sent once, never repeated
    (row,) = receptions(sandbox_clean)
    assert row["credits"] == 12
    if version == "v3":
        sandbox_clean.clear_faults()
        since = datetime.now(UTC) - timedelta(minutes=2)
        (found,) = await loyalty.find_award(JAN, amount=Decimal("12.50"), since=since)
        assert found.reception_id == row["uuid"]


@VERSIONS
async def test_a_refused_connection_is_not_applied(make: MakeService, version: str) -> None:
    loyalty = make(version, base_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(NotApplied, match="nothing was sent"):
        await loyalty.award_credits(
            customer(version),
            Decimal("1"),
            sale_id="R-6",
            operation_id="op-6",
            pos_transaction="5d0b2c1e-8f7a-4f39-b1d2-6c3e9a4f2b77",
        )


@VERSIONS
async def test_429_waits_for_retry_after_then_succeeds(
    make: MakeService, sandbox_clean: Sandbox, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_testing(False)  # the real wait, to see Retry-After honoured
    slept = record_asyncio(monkeypatch, "register_agent.loyalty.retries", "sleep")
    loyalty = make(version)
    pos = await loyalty.open_pos_transaction("R-7", Decimal("5"))
    sandbox_clean.set_fault(mode="error_429", retry_after=1, count=1, paths=[CREDIT_RECEPTIONS])
    award = await loyalty.award_credits(
        customer(version),
        Decimal("5"),
        sale_id="R-7",
        operation_id="op-7",
        pos_transaction=pos,
        deadline=Deadline.after(3),
    )
    [((seconds,), _)] = slept  # one wait, as long as Retry-After said (and a little jitter)
    assert 1.0 <= seconds <= 1.1
    assert award.credits == 5
    assert len(receptions(sandbox_clean)) == 1


@VERSIONS
async def test_429_beyond_the_deadline_is_not_applied_with_the_delay(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    loyalty = make(version)
    sandbox_clean.set_fault(mode="error_429", retry_after=30, paths=[CREDIT_RECEPTIONS])
    with pytest.raises(NotApplied) as caught:
        await loyalty.award_credits(
            customer(version),
            Decimal("5"),
            sale_id="R-8",
            operation_id="op-8",
            pos_transaction=(
                None if version == "v1" else await loyalty.open_pos_transaction("R-8", Decimal("5"))
            ),
            deadline=Deadline.after(2),
        )
    assert caught.value.retry_after == 30
    assert fired(sandbox_clean) == 1
    assert receptions(sandbox_clean) == []


@VERSIONS
async def test_60001_is_unknown_and_never_retried(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    loyalty = make(version)
    pos = await loyalty.open_pos_transaction("R-9", Decimal("5"))
    sandbox_clean.set_fault(mode="in_progress_60001", paths=[CREDIT_RECEPTIONS])
    with pytest.raises(OutcomeUnknown) as caught:
        await loyalty.award_credits(
            customer(version),
            Decimal("5"),
            sale_id="R-9",
            operation_id="op-9",
            pos_transaction=pos,
            deadline=Deadline.after(5),
        )
    assert caught.value.code == 60001
    assert fired(sandbox_clean) == 1
    assert receptions(sandbox_clean) == []


@VERSIONS
async def test_a_500_on_a_post_is_unknown_and_not_retried_but_a_get_is(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    loyalty = make(version)
    pos = await loyalty.open_pos_transaction("R-10", Decimal("5"))
    sandbox_clean.set_fault(mode="error_500", paths=[CREDIT_RECEPTIONS])
    with pytest.raises(OutcomeUnknown):
        await loyalty.award_credits(
            customer(version),
            Decimal("5"),
            sale_id="R-10",
            operation_id="op-10",
            pos_transaction=pos,
            deadline=Deadline.after(5),
        )
    assert fired(sandbox_clean) == 1
    sandbox_clean.clear_faults()
    sandbox_clean.set_fault(mode="error_500", count=2)
    identified = await loyalty.identify("A1B2C3D4", deadline=Deadline.after(5))
    assert identified.usable


@VERSIONS
async def test_503_maintenance(make: MakeService, sandbox_clean: Sandbox, version: str) -> None:
    loyalty = make(version)
    pos = await loyalty.open_pos_transaction("R-11", Decimal("5"))
    sandbox_clean.set_fault(mode="error_503", paths=[CREDIT_RECEPTIONS])
    with pytest.raises(NotApplied) as caught:
        await loyalty.award_credits(
            customer(version),
            Decimal("5"),
            sale_id="R-11",
            operation_id="op-11",
            pos_transaction=pos,
            deadline=Deadline.after(5),
        )
    assert caught.value.status == 503
    assert fired(sandbox_clean) == 1  # a POST goes back to the outbox
    sandbox_clean.clear_faults()
    sandbox_clean.set_fault(mode="error_503", count=1)
    assert (await loyalty.identify("A1B2C3D4", deadline=Deadline.after(5))).usable


@VERSIONS
async def test_a_held_request_ends_at_the_counter_deadline(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    loyalty = make(version)
    pos = await loyalty.open_pos_transaction("R-12", Decimal("5"))
    # held for a minute: only the deadline can end the call within the test's own bound
    sandbox_clean.set_fault(mode="timeout", hold_s=60, paths=[CREDIT_RECEPTIONS])
    awarding = loyalty.award_credits(
        customer(version),
        Decimal("5"),
        sale_id="R-12",
        operation_id="op-12",
        pos_transaction=pos,
        deadline=Deadline.after(0.5),
    )
    with pytest.raises(OutcomeUnknown, match="deadline"):
        await asyncio.wait_for(awarding, 30)  # ending there would be TimeoutError
    assert fired(sandbox_clean) == 1


@VERSIONS
async def test_latency_within_the_deadline_is_fine(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    loyalty = make(version)
    sandbox_clean.set_fault(mode="latency", latency_ms=200)
    identified = await loyalty.identify("A1B2C3D4", deadline=Deadline.after(2))
    assert identified.usable


@VERSIONS
async def test_a_wrong_key_is_credentials_rejected(make: MakeService, version: str) -> None:
    loyalty = make(version, api_key="not-a-key")
    with pytest.raises(CredentialsRejected) as caught:
        await loyalty.identify("A1B2C3D4")
    assert caught.value.status == 401
    assert "not-a-key" not in str(caught.value)


@VERSIONS
async def test_a_concurrent_award_for_the_same_customer_meets_60001(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    loyalty = make(version)
    first_pos = await loyalty.open_pos_transaction("R-13", Decimal("5"))
    second_pos = await loyalty.open_pos_transaction("R-14", Decimal("6"))
    sandbox_clean.set_fault(mode="latency", latency_ms=300, paths=[CREDIT_RECEPTIONS])

    async def award(sale: str, amount: str, pos: str | None) -> object:
        try:
            return await loyalty.award_credits(
                customer(version),
                Decimal(amount),
                sale_id=sale,
                operation_id=f"op-{sale}",
                pos_transaction=pos,
                deadline=Deadline.after(5),
            )
        except OutcomeUnknown as exc:
            return exc

    outcomes = await asyncio.gather(award("R-13", "5", first_pos), award("R-14", "6", second_pos))
    refused = [o for o in outcomes if isinstance(o, OutcomeUnknown)]
    assert len(refused) == 1
    assert refused[0].code == 60001
    assert len(receptions(sandbox_clean)) == 1
    assert fired(sandbox_clean) == 2  # each sent once
