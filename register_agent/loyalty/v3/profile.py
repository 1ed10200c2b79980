"""The profile on Register API v3: custom attributes through update contact,
the newsletter through subscription types and contact subscriptions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import TypeAdapter

from register_agent.config import NewsletterConfig
from register_agent.errors import ConfigError, RequestRejected
from register_agent.loyalty.attributes import contact_attributes
from register_agent.loyalty.domain import CustomerRef
from register_agent.loyalty.forms import FormValue, segment
from register_agent.loyalty.http import parse_with
from register_agent.loyalty.models_profile import ContactSubscription, SubscriptionType
from register_agent.loyalty.profile import NewsletterState
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v3.models import Contact
from register_agent.loyalty.v3.paths import V3Api

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_STATES = {
    "SUBSCRIBED": NewsletterState.SUBSCRIBED,
    "UNSUBSCRIBED": NewsletterState.UNSUBSCRIBED,
    "PENDING_CONFIRMATION": NewsletterState.PENDING_CONFIRMATION,
}


class Paths:
    """v3 paths below ``/api/v3/register``."""

    CONTACT = "/contacts/{uuid}"
    SUBSCRIPTION_TYPES = "/subscription-types"
    SUBSCRIBE = "/contact-subscriptions/{uuid}/subscribe"
    UNSUBSCRIBE = "/contact-subscriptions/{uuid}/unsubscribe"


_contact = parse_with(TypeAdapter(Contact))
_types = parse_with(TypeAdapter(list[SubscriptionType]))
_subscription = parse_with(TypeAdapter(ContactSubscription))


class V3ProfileService:
    """Attributes and newsletter over Register API v3."""

    def __init__(self, api: V3Api, config: NewsletterConfig) -> None:
        self.api = api
        self._wanted = config.subscription_type
        self._type_uuid: str | None = None  # looked up by name once, then remembered

    async def update_attributes(
        self,
        customer: CustomerRef,
        attributes: Mapping[str, str],
        *,
        deadline: Deadline | None = None,
    ) -> dict[str, str]:
        path = Paths.CONTACT.format(uuid=segment(customer.key))
        form: dict[str, FormValue] = {"attributes": dict(attributes)}
        contact = await self.api.http.put(path, _contact, form=form, deadline=deadline)
        return contact_attributes(contact)

    async def set_newsletter(
        self,
        customer: CustomerRef,
        email: str | None,
        subscribed: bool,
        *,
        deadline: Deadline | None = None,
    ) -> NewsletterState:
        deadline = deadline or self.api.http.default_deadline()
        kind = await self._subscription_type(deadline)
        template = Paths.SUBSCRIBE if subscribed else Paths.UNSUBSCRIBE
        path = template.format(uuid=segment(customer.key))
        form: dict[str, FormValue] = {"subscription_type_uuid": kind}
        answer = await self.api.http.put(path, _subscription, form=form, deadline=deadline)
        if answer.is_subscribed:
            return NewsletterState.SUBSCRIBED
        return _STATES.get(str(answer.status).upper(), NewsletterState.UNSUBSCRIBED)

    async def _subscription_type(self, deadline: Deadline) -> str:
        """The configured type's uuid: as given, or found by its name (case-insensitive)."""
        wanted = self._wanted
        if wanted is None:
            raise ConfigError(
                "newsletter.subscription_type is not set: name the subscription type (uuid "
                "or name) that the counter's newsletter opt-in subscribes customers to"
            )
        if _UUID.fullmatch(wanted):
            return wanted
        if self._type_uuid is None:
            types = await self.api.http.get(Paths.SUBSCRIPTION_TYPES, _types, deadline=deadline)
            found = next(
                (t for t in types if t.name.strip().lower() == wanted.strip().lower() and t.uuid),
                None,
            )
            if found is None or found.uuid is None:
                raise RequestRejected(
                    f"the loyalty account has no subscription type named {wanted!r}; check "
                    "newsletter.subscription_type",
                    status=0,
                    code=55030,
                )
            self._type_uuid = found.uuid
        return self._type_uuid
