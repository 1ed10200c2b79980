"""The orders backend's services as one ``Loyalty`` bundle: v3's over the register's key
(giftcards, the profile, enrolment, and the service's customers, tokens and rewards), with
the sale's credits and refunds as orders over the client API (``service``)."""

from __future__ import annotations

from register_agent.config import ApiConfig, NewsletterConfig
from register_agent.loyalty.bundle import Loyalty
from register_agent.loyalty.client_http import ClientApiHttp
from register_agent.loyalty.domain import RegisterInfo
from register_agent.loyalty.http import RegisterHttp
from register_agent.loyalty.orders.service import OrdersLoyaltyService
from register_agent.loyalty.v3.bundle import v3_loyalty
from register_agent.loyalty.v3.paths import V3Api


def orders_loyalty(
    http: RegisterHttp,
    api_config: ApiConfig,
    newsletter: NewsletterConfig,
    *,
    register: RegisterInfo | None = None,
) -> Loyalty:
    """v3's bundle with the orders service; the client API's connection is built here, so
    a missing personal access token stops the agent at its start (ConfigError)."""
    v3 = v3_loyalty(http, api_config, newsletter, register=register)
    service = OrdersLoyaltyService(
        V3Api(http), ClientApiHttp(api_config), api_config, register=register
    )
    return Loyalty(
        service=service, giftcards=v3.giftcards, profile=v3.profile, enrolment=v3.enrolment
    )
