"""Register API v3's services as one ``Loyalty`` bundle: contacts behind contact
identifiers, giftcards, subscriptions and custom attributes, enrolment
that links (or creates) a card.
"""

from __future__ import annotations

from register_agent.config import ApiConfig, NewsletterConfig
from register_agent.loyalty.bundle import Loyalty
from register_agent.loyalty.domain import RegisterInfo
from register_agent.loyalty.http import RegisterHttp
from register_agent.loyalty.v3.enrolment import V3Enrolment
from register_agent.loyalty.v3.giftcards import V3Giftcards
from register_agent.loyalty.v3.paths import V3Api
from register_agent.loyalty.v3.profile import V3ProfileService
from register_agent.loyalty.v3.service import V3LoyaltyService


def v3_loyalty(
    http: RegisterHttp,
    api_config: ApiConfig,
    newsletter: NewsletterConfig,
    *,
    register: RegisterInfo | None = None,
) -> Loyalty:
    """The v3 services over ``http``; ``api_config`` signs the till's loyalty tokens."""
    api = V3Api(http)
    return Loyalty(
        service=V3LoyaltyService(api, api_config, register=register),
        giftcards=V3Giftcards(http),
        profile=V3ProfileService(api, newsletter),
        enrolment=V3Enrolment(api),
    )
