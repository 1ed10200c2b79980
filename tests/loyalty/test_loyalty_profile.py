"""The profile client against the sandbox over real loopback HTTP, v1 and v3: attributes
read with a scan (no extra request), set on a v3 contact, and the newsletter opt-in and
opt-out as marketing recipients (v1) and subscriptions (v3), checked on the ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from register_agent.config import ApiConfig, NewsletterConfig
from register_agent.errors import ConfigError, NotApplied, OutcomeUnknown, RequestRejected
from register_agent.loyalty import CustomerRef, Loyalty, LoyaltyService, make_loyalty
from register_agent.loyalty.profile import NewsletterState, ProfileService
from tests.conftest import Sandbox

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.timeout(30),
    pytest.mark.usefixtures("no_retry_waits"),
]

JAN_V3 = CustomerRef(key="0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10", card="A1B2C3D4")
JAN_V1 = CustomerRef(key="7731", card="55120")
OPT_IN = "5e1f7c2a-9b3d-4e6f-8a1b-2c3d4e5f6a7b"
NEWSLETTER = NewsletterConfig(marketing_program_id=12, subscription_type="Nieuwsbrief")

Make = Callable[..., tuple[LoyaltyService, ProfileService]]


@pytest.fixture
async def make(sandbox_clean: Sandbox) -> AsyncIterator[Make]:
    made: list[Loyalty] = []

    def build(
        version: str, newsletter: NewsletterConfig = NEWSLETTER
    ) -> tuple[LoyaltyService, ProfileService]:
        key = sandbox_clean.v1_key if version == "v1" else sandbox_clean.v3_key
        config = ApiConfig(version=version, base_url=sandbox_clean.url, api_key=key)
        loyalty = make_loyalty(config, newsletter=newsletter)
        made.append(loyalty)
        return loyalty.service, loyalty.profile

    yield build
    for service in made:
        await service.aclose()


def rows(sandbox: Sandbox, *kinds: str) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] in kinds]


def api_requests(sandbox: Sandbox) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in sandbox.requests()]


async def test_v1_scan_brings_member_and_card_attributes(
    make: Make, sandbox_clean: Sandbox
) -> None:
    loyalty, _ = make("v1")
    found = await loyalty.identify("A1B2C3D4")
    assert found.customer is not None
    assert found.customer.attributes == {
        "card_design": "Tulips 2021",
        "firstname": "Jan",
        "tier": "Gold",
        "birthday": "1980-04-12",
    }
    assert found.customer.balance == 150
    assert len(sandbox_clean.requests()) == 2  # the card and the member, as before


async def test_v3_scan_details_come_from_the_contact_in_one_request(
    make: Make, sandbox_clean: Sandbox
) -> None:
    loyalty, _ = make("v3")
    found = await loyalty.identify("A1B2C3D4", with_balance=False)
    assert found.customer is not None
    details = await loyalty.details(found.customer.ref)
    assert details.balance == 150
    # the login link and the platform's fields among the contact's values stay out
    assert details.attributes == {"firstname": "Jan", "tier": "Gold", "birthday": "1980-04-12"}
    assert api_requests(sandbox_clean)[1] == f"GET /api/v3/register/contacts/{JAN_V3.key}"
    assert len(sandbox_clean.requests()) == 2


async def test_v3_attributes_are_set_on_the_contact(make: Make, sandbox_clean: Sandbox) -> None:
    _, profile = make("v3")
    after = await profile.update_attributes(JAN_V3, {"firstname": "Johannes", "lastname": "Bos"})
    assert after["firstname"] == "Johannes"
    assert after["lastname"] == "Bos"
    assert after["tier"] == "Gold"
    assert rows(sandbox_clean, "contact_updated")[0]["attributes"] == {
        "firstname": "Johannes",
        "lastname": "Bos",
    }
    with pytest.raises(RequestRejected) as refused:
        await profile.update_attributes(JAN_V3, {"shoe_size": "44"})
    assert refused.value.code == 1003
    assert "attributes.shoe_size" in refused.value.field_errors


async def test_v1_has_no_attribute_update(make: Make) -> None:
    _, profile = make("v1")
    with pytest.raises(RequestRejected, match="v1 has no call"):
        await profile.update_attributes(JAN_V1, {"firstname": "Johannes"})


async def test_v1_newsletter_creates_then_switches_the_recipient(
    make: Make, sandbox_clean: Sandbox
) -> None:
    _, profile = make("v1")
    assert await profile.set_newsletter(JAN_V1, None, False) is NewsletterState.UNSUBSCRIBED
    assert rows(sandbox_clean, "marketing_recipient_created") == []  # none made to opt out
    assert await profile.set_newsletter(JAN_V1, None, True) is NewsletterState.SUBSCRIBED
    assert await profile.set_newsletter(JAN_V1, None, True) is NewsletterState.SUBSCRIBED
    assert await profile.set_newsletter(JAN_V1, "jan@example.org", False) is (
        NewsletterState.UNSUBSCRIBED
    )
    # 55005 on the second opt-in: found by e-mail and switched back on
    assert await profile.set_newsletter(JAN_V1, "JAN@example.org", True) is (
        NewsletterState.SUBSCRIBED
    )
    ledger = [
        (r["kind"], r["email"], r["is_subscribed"])
        for r in rows(sandbox_clean, "marketing_recipient_created", "marketing_recipient_updated")
    ]
    assert ledger == [
        ("marketing_recipient_created", "jan@example.org", True),
        ("marketing_recipient_updated", "jan@example.org", False),
        ("marketing_recipient_updated", "jan@example.org", True),
    ]


async def test_v1_unknown_program_and_missing_config(make: Make) -> None:
    _, profile = make("v1", NewsletterConfig(marketing_program_id=99))
    with pytest.raises(RequestRejected) as refused:
        await profile.set_newsletter(JAN_V1, "jan@example.org", True)
    assert refused.value.code == 55004
    _, unset = make("v1", NewsletterConfig())
    with pytest.raises(ConfigError, match="marketing_program_id"):
        await unset.set_newsletter(JAN_V1, "jan@example.org", True)


async def test_v3_newsletter_by_name_and_double_opt_in(make: Make, sandbox_clean: Sandbox) -> None:
    _, profile = make("v3")
    assert await profile.set_newsletter(JAN_V3, None, True) is NewsletterState.SUBSCRIBED
    assert await profile.set_newsletter(JAN_V3, None, False) is NewsletterState.UNSUBSCRIBED
    _, double = make(
        "v3", NewsletterConfig(subscription_type="6f2a8d3b-0c4e-4f7a-9b2c-3d4e5f6a7b8c")
    )
    pending = await double.set_newsletter(JAN_V3, None, True)
    assert pending is NewsletterState.PENDING_CONFIRMATION
    changes = [
        (r["subscription_type"], r["status"]) for r in rows(sandbox_clean, "subscription_changed")
    ]
    assert changes == [
        (OPT_IN, "SUBSCRIBED"),
        (OPT_IN, "UNSUBSCRIBED"),
        ("6f2a8d3b-0c4e-4f7a-9b2c-3d4e5f6a7b8c", "PENDING_CONFIRMATION"),
    ]
    # the type's name was looked up once, then remembered
    looked_up = [p for p in api_requests(sandbox_clean) if p.endswith("/subscription-types")]
    assert len(looked_up) == 1


async def test_v3_unknown_subscription_type_name(make: Make) -> None:
    _, profile = make("v3", NewsletterConfig(subscription_type="Weekly"))
    with pytest.raises(RequestRejected) as refused:
        await profile.set_newsletter(JAN_V3, None, True)
    assert refused.value.code == 55030


async def test_newsletter_faults_are_the_usual_outcomes(make: Make, sandbox_clean: Sandbox) -> None:
    _, profile = make("v3")
    sandbox_clean.set_fault(mode="error_503", count=1, paths=["/api/v3/register/contact-sub"])
    with pytest.raises(NotApplied):
        await profile.set_newsletter(JAN_V3, None, True)
    assert rows(sandbox_clean, "subscription_changed") == []
    sandbox_clean.set_fault(mode="drop_after_commit", count=1, methods=["PUT"])
    with pytest.raises(OutcomeUnknown):
        await profile.set_newsletter(JAN_V3, None, True)
    # idempotent by nature: the same call again lands on the same state
    assert await profile.set_newsletter(JAN_V3, None, True) is NewsletterState.SUBSCRIBED
    assert [r["status"] for r in rows(sandbox_clean, "subscription_changed")] == [
        "SUBSCRIBED",
        "SUBSCRIBED",
    ]
