"""The Register API (Piggy / Leat): one httpx transport, the v1 and v3 route sets, typed
models, the outcome mapping, loyalty-token minting, and the ``Loyalty`` bundle of services
the rest of the agent uses. ``make_loyalty`` builds the configured version's, and is the
one place that picks a version; the interfaces are ``domain``, ``giftcards``, ``profile``
and ``enrolment``. Only this package imports httpx.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import httpx

from register_agent.config import ApiConfig, NewsletterConfig
from register_agent.loyalty.bundle import Loyalty
from register_agent.loyalty.client_http import ClientApiHttp
from register_agent.loyalty.domain import (
    CardState,
    CreditAward,
    Customer,
    CustomerRef,
    Identification,
    LoyaltyService,
    RegisterInfo,
    Reward,
    RewardClaim,
    StagedCredits,
)
from register_agent.loyalty.giftcards import Giftcard, GiftcardService, GiftcardTransaction
from register_agent.loyalty.http import RegisterHttp
from register_agent.loyalty.orders.bundle import orders_loyalty
from register_agent.loyalty.orders.collectables import CollectableRewards
from register_agent.loyalty.retries import Deadline, set_testing
from register_agent.loyalty.tokens import LoyaltyToken, mint_loyalty_token
from register_agent.loyalty.v1.bundle import v1_loyalty
from register_agent.loyalty.v1.giftcards import V1Giftcards
from register_agent.loyalty.v1.paths import V1Api
from register_agent.loyalty.v1.service import V1LoyaltyService
from register_agent.loyalty.v3.bundle import v3_loyalty
from register_agent.loyalty.v3.giftcards import V3Giftcards
from register_agent.loyalty.v3.paths import V3Api
from register_agent.loyalty.v3.service import V3LoyaltyService

__all__ = [
    "CardState",
    "CreditAward",
    "Customer",
    "CustomerRef",
    "Deadline",
    "Giftcard",
    "GiftcardService",
    "GiftcardTransaction",
    "Identification",
    "Loyalty",
    "LoyaltyService",
    "LoyaltyToken",
    "RegisterInfo",
    "Reward",
    "RewardClaim",
    "StagedCredits",
    "V1Api",
    "V1Giftcards",
    "V1LoyaltyService",
    "V3Api",
    "V3Giftcards",
    "V3LoyaltyService",
    "make_loyalty",
    "mint_loyalty_token",
    "set_testing",
]


class _Bundle(Protocol):
    """How each version's bundle is built (``v1.bundle``, ``v3.bundle``)."""

    def __call__(
        self,
        http: RegisterHttp,
        api_config: ApiConfig,
        newsletter: NewsletterConfig,
        *,
        register: RegisterInfo | None = None,
    ) -> Loyalty: ...


_BUNDLES: dict[str, _Bundle] = {"v1": v1_loyalty, "v3": v3_loyalty, "orders": orders_loyalty}


def make_loyalty(
    api_config: ApiConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    newsletter: NewsletterConfig | None = None,
    register: RegisterInfo | None = None,
) -> Loyalty:
    """The services for ``api.version`` with one HTTP client; close them with ``aclose()``.

    ``register`` primes the register info (e.g. remembered in the journal), so a v3 till
    that starts offline can still mint loyalty tokens without any API call. ``newsletter``
    names the program or subscription type of the counter's opt-in (unset: refused).
    """
    http = RegisterHttp(api_config, transport=transport)
    build = _BUNDLES[api_config.version]
    loyalty = build(http, api_config, newsletter or NewsletterConfig(), register=register)
    if api_config.personal_access_token is None:
        return loyalty  # no client API: no collectable rewards at the counter
    client = ClientApiHttp(api_config, transport=transport)
    return replace(loyalty, collectables=CollectableRewards(client))
