"""The enrolment client's race branches, which the sandbox cannot stage one request at a
time (httpx.MockTransport, scripted answers): a member / contact made by another till
between our look-up and our create (55017 / 60005 -> found), a card linked meanwhile by our
own earlier attempt (fine) or to someone else (refused), an identifier created meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from register_agent.loyalty import Loyalty, make_loyalty
from register_agent.loyalty.enrolment import CARD_TAKEN, HandOutRefused
from tests.support.loyalty_support import Script, api_config, api_error, form_of, ok

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_retry_waits")]

NEW = "new@example.org"
UUID_NEW = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
UUID_JAN = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
BLANK_V1: dict[str, Any] = {"id": 55124, "hash": "D4E5F6A7", "status": "ACTIVE", "member": None}
MEMBER_NEW: dict[str, Any] = {
    "member": {"id": 7735, "email": NEW},
    "credit_balance": {"balance": 0},
}
Build = Callable[[str], tuple[Script, Loyalty]]


@pytest.fixture
async def build() -> AsyncIterator[Build]:
    made: list[Loyalty] = []

    def make(version: str) -> tuple[Script, Loyalty]:
        script = Script(version)
        made.append(service := make_loyalty(api_config(version), script.transport()))
        return script, service

    yield make
    for service in made:
        await service.aclose()


def linked_v1(member: dict[str, Any]) -> dict[str, Any]:
    return {**BLANK_V1, "member": member}


async def test_v1_a_member_made_meanwhile_is_found(build: Build) -> None:
    script, loyalty = build("v1")
    script.on("GET", "/loyalty-cards/find-one-by", ok(BLANK_V1))
    script.on("GET", "/members/find-one-by", api_error(55012), ok(MEMBER_NEW))
    script.on("POST", "/members", api_error(55017, "Member already exists."))
    script.on("POST", "/link-loyalty-card", ok(linked_v1(MEMBER_NEW["member"])))
    script.on("GET", "/members/7735", ok(MEMBER_NEW))
    customer = await loyalty.enrolment.hand_out_card("D4E5F6A7", NEW)
    assert (customer.ref.key, customer.ref.card, customer.balance) == ("7735", "55124", 0)
    (link,) = script.seen("POST", "/link-loyalty-card")
    assert form_of(link) == {"member_id": "7735", "loyalty_card_id": "55124"}


@pytest.mark.parametrize(("holder", "refused"), [(7735, False), (7731, True)])
async def test_v1_a_card_linked_meanwhile(build: Build, holder: int, refused: bool) -> None:
    script, loyalty = build("v1")
    after = linked_v1({"id": holder, "email": "someone@example.org"})
    script.on("GET", "/loyalty-cards/find-one-by", ok(BLANK_V1), ok(after))
    script.on("GET", "/members/find-one-by", ok(MEMBER_NEW))
    script.on("POST", "/link-loyalty-card", api_error(55016))
    script.on("GET", "/members/7735", ok(MEMBER_NEW))
    if not refused:  # our own earlier attempt linked it: the hand-out stands
        assert (await loyalty.enrolment.hand_out_card("D4E5F6A7", NEW)).ref.key == "7735"
        return
    with pytest.raises(HandOutRefused) as taken:
        await loyalty.enrolment.hand_out_card("D4E5F6A7", NEW)
    assert taken.value.reason == CARD_TAKEN


async def test_v3_an_identifier_created_meanwhile_is_linked(build: Build) -> None:
    script, loyalty = build("v3")
    contact = {"uuid": UUID_NEW, "email": NEW, "credit_balance": {"balance": 5}}
    script.on("GET", "/contact-identifiers/find", api_error(60003))
    script.on("GET", "/contacts/find-or-create", ok(contact))
    script.on("POST", "/contact-identifiers", api_error(60006))
    script.on(
        "PUT",
        "/contact-identifiers/link",
        ok({"value": "N1", "active": True, "contact": {"uuid": UUID_NEW}}),
    )
    customer = await loyalty.enrolment.hand_out_card("N1", NEW)
    assert (customer.ref.key, customer.ref.card, customer.balance) == (UUID_NEW, "N1", 5)
    (create,) = script.seen("POST", "/contact-identifiers")
    assert form_of(create) == {"contact_identifier_value": "N1", "contact_uuid": UUID_NEW}
    (link,) = script.seen("PUT", "/contact-identifiers/link")
    assert form_of(link) == {"contact_identifier_value": "N1", "contact_uuid": UUID_NEW}


async def test_v3_a_card_linked_meanwhile_to_someone_else(build: Build) -> None:
    script, loyalty = build("v3")
    blank = {"value": "D4E5F6A7", "active": True, "contact": None}
    jan = {**blank, "contact": {"uuid": UUID_JAN, "email": "jan@example.org"}}
    script.on("GET", "/contact-identifiers/find", ok(blank), ok(jan))
    script.on("GET", "/contacts/find-or-create", ok({"uuid": UUID_NEW, "email": NEW}))
    script.on("PUT", "/contact-identifiers/link", api_error(60014))
    with pytest.raises(HandOutRefused, match="already belongs to another customer"):
        await loyalty.enrolment.hand_out_card("D4E5F6A7", NEW)
