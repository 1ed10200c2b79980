"""The loyalty services of one Register API version, built together over one HTTP
connection (one API key): what the runtime makes once and hands down to the till, the
counter's desks and the outbox. ``make_loyalty`` (the package's) builds the configured one.

Where the versions differ in behaviour, the services answer in the till's words
(``LoyaltyService.can_reconcile``, ``stages_online``, ``can_reverse``); no caller outside
this package asks which version runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from register_agent.loyalty.domain import LoyaltyService
from register_agent.loyalty.enrolment import Enrolment
from register_agent.loyalty.giftcards import GiftcardService
from register_agent.loyalty.orders.collectables import CollectableRewards
from register_agent.loyalty.profile import ProfileService


@dataclass(frozen=True)
class Loyalty:
    """One version's services; close them together with ``aclose()``."""

    #: customers, credits and rewards: what a scan, a sale and the outbox use
    service: LoyaltyService
    #: giftcards at the counter
    giftcards: GiftcardService
    #: the newsletter and the custom attributes a cashier may set
    profile: ProfileService
    #: finding customers by e-mail, listing them, handing out new cards
    enrolment: Enrolment
    #: rewards pre-redeemed, collected with a sale: the client API's, so only with the
    #: account's personal access token (``[api] personal_access_token``); else None
    collectables: CollectableRewards | None = None

    async def aclose(self) -> None:
        # the services share the service's HTTP connection: closing it closes them all;
        # the client API has a connection of its own
        await self.service.aclose()
        if self.collectables is not None:
            await self.collectables.aclose()
