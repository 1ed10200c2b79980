"""Register API v1's services as one ``Loyalty`` bundle: members behind loyalty cards,
giftcards, the newsletter as marketing recipients, enrolment of blank cards.
"""

from __future__ import annotations

from register_agent.config import ApiConfig, NewsletterConfig
from register_agent.loyalty.bundle import Loyalty
from register_agent.loyalty.domain import RegisterInfo
from register_agent.loyalty.http import RegisterHttp
from register_agent.loyalty.v1.enrolment import V1Enrolment
from register_agent.loyalty.v1.giftcards import V1Giftcards
from register_agent.loyalty.v1.paths import V1Api
from register_agent.loyalty.v1.profile import V1ProfileService
from register_agent.loyalty.v1.service import V1LoyaltyService


def v1_loyalty(
    http: RegisterHttp,
    api_config: ApiConfig,
    newsletter: NewsletterConfig,
    *,
    register: RegisterInfo | None = None,
) -> Loyalty:
    """The v1 services over ``http`` (``api_config`` goes unused: only v3 signs tokens)."""
    api = V1Api(http)
    return Loyalty(
        service=V1LoyaltyService(api, register=register),
        giftcards=V1Giftcards(http),
        profile=V1ProfileService(api, newsletter),
        enrolment=V1Enrolment(api),
    )
