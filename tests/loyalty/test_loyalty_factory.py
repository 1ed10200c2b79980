"""``make_loyalty``: one bundle per Register API version, its services over one HTTP
connection, and what differs between the versions answered as capabilities."""

from __future__ import annotations

import pytest

from register_agent.loyalty import make_loyalty
from register_agent.loyalty.v1.enrolment import V1Enrolment
from register_agent.loyalty.v1.giftcards import V1Giftcards
from register_agent.loyalty.v1.profile import V1ProfileService
from register_agent.loyalty.v1.service import V1LoyaltyService
from register_agent.loyalty.v3.enrolment import V3Enrolment
from register_agent.loyalty.v3.giftcards import V3Giftcards
from register_agent.loyalty.v3.profile import V3ProfileService
from register_agent.loyalty.v3.service import V3LoyaltyService
from tests.support.loyalty_support import Script, api_config

pytestmark = pytest.mark.anyio

V1_BUNDLE = (V1LoyaltyService, V1Giftcards, V1ProfileService, V1Enrolment)
V3_BUNDLE = (V3LoyaltyService, V3Giftcards, V3ProfileService, V3Enrolment)


@pytest.mark.parametrize(("version", "kinds"), [("v1", V1_BUNDLE), ("v3", V3_BUNDLE)])
async def test_the_configured_version_s_services_over_one_connection(
    version: str, kinds: tuple[type, ...]
) -> None:
    loyalty = make_loyalty(api_config(version), Script(version).transport())
    try:
        parts = (loyalty.service, loyalty.giftcards, loyalty.profile, loyalty.enrolment)
        assert tuple(type(part) for part in parts) == kinds
        service = loyalty.service
        assert isinstance(service, V1LoyaltyService | V3LoyaltyService)
        http = service.api.http
        assert isinstance(loyalty.giftcards, V1Giftcards | V3Giftcards)
        assert isinstance(loyalty.profile, V1ProfileService | V3ProfileService)
        assert isinstance(loyalty.enrolment, V1Enrolment | V3Enrolment)
        assert loyalty.giftcards.http is http
        assert loyalty.profile.api.http is http
        assert loyalty.enrolment.api.http is http
    finally:
        await loyalty.aclose()


@pytest.mark.parametrize(
    ("version", "reconciles", "stages_online", "reverses"),
    [("v1", False, True, False), ("v3", True, False, True)],
)
async def test_what_differs_is_a_capability(
    version: str, reconciles: bool, stages_online: bool, reverses: bool
) -> None:
    loyalty = make_loyalty(api_config(version), Script(version).transport())
    try:
        service = loyalty.service
        assert (service.can_reconcile, service.stages_online, service.can_reverse) == (
            reconciles,
            stages_online,
            reverses,
        )
    finally:
        await loyalty.aclose()
