"""The Register API (Piggy / Leat): one httpx transport, the v1 and v3 route sets, typed
models, the outcome mapping, loyalty-token minting, and the ``LoyaltyService`` interface
the rest of the agent uses (see ``domain``). Only this package imports httpx.
"""

from __future__ import annotations

import httpx

from register_agent.config import ApiConfig
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
from register_agent.loyalty.retries import Deadline, set_testing
from register_agent.loyalty.tokens import LoyaltyToken, mint_loyalty_token
from register_agent.loyalty.v1.giftcards import V1Giftcards
from register_agent.loyalty.v1.paths import V1Api
from register_agent.loyalty.v1.service import V1LoyaltyService
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
    "giftcards_for",
    "make_loyalty_service",
    "mint_loyalty_token",
    "set_testing",
]


def make_loyalty_service(
    api_config: ApiConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    register: RegisterInfo | None = None,
) -> LoyaltyService:
    """The service for ``api.version``, with one HTTP client; close it with ``aclose()``.

    ``register`` primes the register info (e.g. remembered in the journal), so a v3 till
    that starts offline can still mint loyalty tokens without any API call.
    """
    http = RegisterHttp(api_config, transport=transport)
    if api_config.version == "v1":
        return V1LoyaltyService(V1Api(http), register=register)
    return V3LoyaltyService(V3Api(http), api_config, register=register)


def giftcards_for(loyalty: LoyaltyService) -> GiftcardService:
    """The giftcard calls over the same HTTP connection (and API key) as ``loyalty``."""
    if isinstance(loyalty, V1LoyaltyService):
        return V1Giftcards(loyalty.api.http)
    if isinstance(loyalty, V3LoyaltyService):
        return V3Giftcards(loyalty.api.http)
    raise TypeError(f"no giftcard calls for {type(loyalty).__name__}")
