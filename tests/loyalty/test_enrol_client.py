"""The client's enrolment (``Loyalty.enrolment``) against the sandbox over real
loopback, v1 and v3: a blank card handed out to a new e-mail, a repeat changing nothing,
a card of someone else refused, customers found by e-mail and listed (v1 only), and the
new v3 contact calls; checked on the sandbox's ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from register_agent.config import ApiConfig
from register_agent.errors import OutcomeUnknown, RequestRejected
from register_agent.loyalty import CardState, Loyalty, make_loyalty
from register_agent.loyalty.enrolment import CARD_TAKEN, HandOutRefused, ListingUnsupported
from register_agent.loyalty.v3.contacts import V3ContactsApi
from register_agent.loyalty.v3.enrolment import V3Enrolment
from tests.conftest import Sandbox

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30), pytest.mark.usefixtures("no_retry_waits")]

BLANK = "D4E5F6A7"  # the seed's card nobody registered
JAN_CARD = "A1B2C3D4"
JAN_V3 = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"

MakeService = Callable[[str], Loyalty]


@pytest.fixture
async def make(sandbox_clean: Sandbox) -> AsyncIterator[MakeService]:
    made: list[Loyalty] = []

    def build(version: str) -> Loyalty:
        key = sandbox_clean.v1_key if version == "v1" else sandbox_clean.v3_key
        config: dict[str, Any] = {
            "version": version,
            "base_url": sandbox_clean.url,
            "api_key": key,
            "read_timeout_s": 3.0,
        }
        made.append(service := make_loyalty(ApiConfig(**config)))
        return service

    yield build
    for service in made:
        await service.aclose()


def kinds(sandbox: Sandbox) -> list[str]:
    return [row["kind"] for row in sandbox.ledger()]


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_a_blank_card_handed_out_to_a_new_email(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    loyalty = make(version)
    customer = await loyalty.enrolment.hand_out_card(BLANK, "new@example.org")
    assert (customer.display, customer.balance) == ("new@example.org", 0)
    created, linked = (
        ("member_created", "card_linked")
        if version == "v1"
        else ("contact_created", "identifier_linked")
    )
    assert kinds(sandbox_clean) == [created, linked]
    # the card now identifies the new customer, who earns with it
    found = await loyalty.service.identify(BLANK)
    assert found.state is CardState.ACTIVE
    assert found.customer is not None
    assert found.customer.ref == customer.ref
    # a repeat (same card, same e-mail, any case) changes nothing and answers the same
    again = await loyalty.enrolment.hand_out_card(BLANK, "New@Example.org")
    assert again == customer
    assert kinds(sandbox_clean) == [created, linked]
    by_email = await loyalty.enrolment.find_customer("new@example.org")
    assert by_email.ref.key == customer.ref.key


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_a_customer_found_by_email_carries_their_attributes(
    make: MakeService, version: str
) -> None:
    loyalty = make(version)
    jan = await loyalty.enrolment.find_customer("jan@example.org")
    assert (jan.ref.key, jan.balance) == ((JAN_V3 if version == "v3" else "7731"), 150)
    assert (jan.attributes["firstname"], jan.attributes["tier"]) == ("Jan", "Gold")
    scanned = await loyalty.service.identify(JAN_CARD)
    assert scanned.customer is not None
    member_own = {k: v for k, v in scanned.customer.attributes.items() if k != "card_design"}
    assert dict(jan.attributes) == member_own  # the same as after a scan, less the card's


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_a_card_of_someone_else_is_refused_clearly(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    loyalty = make(version)
    with pytest.raises(HandOutRefused) as refused:
        await loyalty.enrolment.hand_out_card(JAN_CARD, "new@example.org")
    assert refused.value.reason == CARD_TAKEN
    assert "…C3D4 already belongs to another customer" in str(refused.value)
    assert kinds(sandbox_clean) == []  # nobody created for a refused hand-out


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_an_existing_member_gets_the_card(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    loyalty = make(version)
    marie = await loyalty.enrolment.hand_out_card(BLANK, "marie@example.org")
    assert (marie.display, marie.balance) == ("marie@example.org", 20)
    assert kinds(sandbox_clean) == ["card_linked" if version == "v1" else "identifier_linked"]


async def test_v1_refuses_a_card_the_program_does_not_know(make: MakeService) -> None:
    with pytest.raises(HandOutRefused, match="not a card of this loyalty program"):
        await make("v1").enrolment.hand_out_card("ZZ990011", "new@example.org")


async def test_v3_creates_the_identifier_of_a_new_card(
    make: MakeService, sandbox_clean: Sandbox
) -> None:
    loyalty = make("v3")
    customer = await loyalty.enrolment.hand_out_card("ZZ990011", "jan@example.org")
    assert (customer.ref.key, customer.balance) == (JAN_V3, 150)
    assert kinds(sandbox_clean) == ["identifier_created"]
    found = await loyalty.service.identify("ZZ990011")
    assert found.customer is not None
    assert found.customer.ref.key == JAN_V3


async def test_v3_hand_out_claims_an_anonymous_card(
    make: MakeService, sandbox_clean: Sandbox
) -> None:
    loyalty = make("v3")
    assert isinstance(loyalty.enrolment, V3Enrolment)
    contacts: V3ContactsApi = loyalty.enrolment.contacts
    anonymous = await contacts.create_anonymous_contact(identifier_value=BLANK)
    customer = await loyalty.enrolment.hand_out_card(BLANK, "new@example.org")
    assert customer.ref.key == str(anonymous.uuid)
    assert kinds(sandbox_clean)[-1] == "contact_claimed"
    with pytest.raises(RequestRejected) as not_anonymous:
        await contacts.claim_anonymous_contact(str(anonymous.uuid), "other@example.org")
    assert not_anonymous.value.code == 60016


async def test_v3_contact_calls(make: MakeService, sandbox_clean: Sandbox) -> None:
    enrolment = make("v3").enrolment
    assert isinstance(enrolment, V3Enrolment)
    contacts = enrolment.contacts
    made = await contacts.find_or_create_contact("new@example.org")
    assert (await contacts.find_or_create_contact("new@example.org")).uuid == made.uuid
    linked = await contacts.link_contact_identifier(BLANK, str(made.uuid))
    assert linked.contact is not None
    with pytest.raises(RequestRejected) as already:
        await contacts.link_contact_identifier(BLANK, JAN_V3)
    assert already.value.code == 60014
    with pytest.raises(RequestRejected) as missing:
        await enrolment.find_customer("nobody@example.org")
    assert missing.value.code == 55031
    assert kinds(sandbox_clean) == ["contact_created", "identifier_linked"]


async def test_v1_lists_members_and_v3_says_it_cannot(make: MakeService) -> None:
    first = await make("v1").enrolment.list_customers(1, 3)
    assert [c.ref.key for c in first.customers] == ["7731", "7732", "7733"]
    assert (first.page, first.limit, first.last_page, first.total) == (1, 3, 2, 4)
    assert first.customers[0].display == "jan@example.org"
    with pytest.raises(ListingUnsupported, match="v3 offers no list"):
        await make("v3").enrolment.list_customers(1, 3)


async def test_v1_member_not_found(make: MakeService) -> None:
    with pytest.raises(RequestRejected) as missing:
        await make("v1").enrolment.find_customer("nobody@example.org")
    assert missing.value.code == 55012


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_a_link_whose_answer_was_lost_is_harmless_to_repeat(
    make: MakeService, sandbox_clean: Sandbox, version: str
) -> None:
    """The link landed but its answer was lost: the hand-out is simply asked again."""
    loyalty = make(version)
    path = "/link-loyalty-card" if version == "v1" else "/contact-identifiers/link"
    sandbox_clean.set_fault(
        mode="drop_after_commit", count=1, paths=[f"/api/{version}/register{path}"]
    )
    with pytest.raises(OutcomeUnknown):
        await loyalty.enrolment.hand_out_card(BLANK, "new@example.org")
    customer = await loyalty.enrolment.hand_out_card(BLANK, "new@example.org")
    assert customer.display == "new@example.org"
    assert len([k for k in kinds(sandbox_clean) if k.endswith("linked")]) == 1
