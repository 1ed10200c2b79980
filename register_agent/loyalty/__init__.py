"""The Register API (Piggy / Leat): one httpx transport, the v1 and v3 route sets, typed
models, the outcome mapping, loyalty-token minting, and the ``Loyalty`` bundle of services
the rest of the agent uses (``make_loyalty`` builds the configured version's; the
interfaces are ``domain``, ``giftcards``, ``profile`` and ``enrolment``). Only this package
imports httpx.
"""

from __future__ import annotations

from register_agent.loyalty.bundle import Loyalty
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
from register_agent.loyalty.factory import make_loyalty
from register_agent.loyalty.giftcards import Giftcard, GiftcardService, GiftcardTransaction
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
