"""The profile desk against the real sandbox: what the cashier reads after an opt-in (a
double opt-in sends a confirmation e-mail), and the refusals the POS can switch on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from register_agent.common.events import EventBus
from register_agent.config import ApiConfig, NewsletterConfig, OutboxConfig
from register_agent.counter.customers import CurrentCustomer
from register_agent.counter.health import TillHealth
from register_agent.counter.profiles import AttributesRequest, NewsletterRequest, ProfileDesk
from register_agent.errors import CounterRefusal
from register_agent.journal import Journal
from register_agent.loyalty import Loyalty, make_loyalty
from tests.conftest import Sandbox

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_retry_waits")]

JAN = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
DOUBLE = "6f2a8d3b-0c4e-4f7a-9b2c-3d4e5f6a7b8c"

MakeDesk = Callable[..., ProfileDesk]


@pytest.fixture
async def make_desk(sandbox_clean: Sandbox, tmp_path: Path) -> AsyncIterator[MakeDesk]:
    journal = Journal.open(tmp_path / "journal.sqlite3")
    services: list[Loyalty] = []

    def build(version: str, newsletter: NewsletterConfig, base_url: str = "") -> ProfileDesk:
        key = sandbox_clean.v1_key if version == "v1" else sandbox_clean.v3_key
        api = ApiConfig(version=version, base_url=base_url or sandbox_clean.url, api_key=key)
        loyalty = make_loyalty(api, newsletter=newsletter)
        services.append(loyalty)
        return ProfileDesk(
            loyalty.profile,
            CurrentCustomer(120),
            EventBus(),
            TillHealth(journal, OutboxConfig()),
            loyalty.service.counter_deadline,
        )

    yield build
    for service in services:
        await service.aclose()
    journal.close()


async def test_a_double_opt_in_tells_the_cashier_an_email_was_sent(make_desk: MakeDesk) -> None:
    desk = make_desk("v3", NewsletterConfig(subscription_type=DOUBLE))
    answer = await desk.set_newsletter(NewsletterRequest(subscribed=True, customer_key=JAN))
    assert answer.status == "pending_confirmation"
    assert not answer.subscribed
    assert "a confirmation e-mail was sent" in answer.message


async def test_refusals_have_stable_codes(make_desk: MakeDesk) -> None:
    unset = make_desk("v3", NewsletterConfig())
    with pytest.raises(CounterRefusal) as refused:
        await unset.set_newsletter(NewsletterRequest(subscribed=True, customer_key=JAN))
    assert (refused.value.code, refused.value.status) == ("newsletter_not_configured", 409)

    desk = make_desk("v3", NewsletterConfig(subscription_type="Nieuwsbrief"))
    with pytest.raises(CounterRefusal) as refused:
        await desk.set_newsletter(NewsletterRequest(subscribed=True))
    assert refused.value.code == "no_customer"
    nobody = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(CounterRefusal) as refused:
        await desk.set_newsletter(NewsletterRequest(subscribed=True, customer_key=nobody))
    assert (refused.value.code, refused.value.status) == ("unknown_customer", 404)

    v1 = make_desk("v1", NewsletterConfig(marketing_program_id=99))
    with pytest.raises(CounterRefusal) as refused:
        await v1.set_newsletter(NewsletterRequest(subscribed=True, customer_key="7731"))
    assert refused.value.code == "newsletter_unknown"
    assert "ask the installer" in str(refused.value)
    with pytest.raises(CounterRefusal) as refused:
        await v1.set_attributes(
            AttributesRequest(attributes={"firstname": "J"}, customer_key="7731")
        )
    assert refused.value.code == "profile_unsupported"


async def test_offline_is_refused_not_queued(make_desk: MakeDesk) -> None:
    # a port nothing listens on: nothing was sent, so the POS may simply try again later
    desk = make_desk("v3", NewsletterConfig(subscription_type=DOUBLE), "http://127.0.0.1:9")
    with pytest.raises(CounterRefusal) as refused:
        await desk.set_newsletter(NewsletterRequest(subscribed=True, customer_key=JAN))
    assert (refused.value.code, refused.value.status) == ("offline", 503)
    assert "online" in str(refused.value)


async def test_an_unconfirmed_change_is_safe_to_send_again(
    make_desk: MakeDesk, sandbox_clean: Sandbox
) -> None:
    desk = make_desk("v3", NewsletterConfig(subscription_type="Nieuwsbrief"))
    sandbox_clean.set_fault(mode="drop_after_commit", count=1, methods=["PUT"])
    request = NewsletterRequest(subscribed=True, customer_key=JAN)
    with pytest.raises(CounterRefusal) as refused:
        await desk.set_newsletter(request)
    assert (refused.value.code, refused.value.status) == ("not_confirmed", 503)
    again = await desk.set_newsletter(request)
    assert again.status == "subscribed"
    rows = [r for r in sandbox_clean.ledger() if r["kind"] == "subscription_changed"]
    assert [r["status"] for r in rows] == ["SUBSCRIBED", "SUBSCRIBED"]  # one subscription
