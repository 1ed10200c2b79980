"""The profile on Register API v1: the newsletter as a marketing recipient;
v1 has no call that changes a member's attributes.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import TypeAdapter

from register_agent.config import NewsletterConfig
from register_agent.errors import ConfigError, RequestRejected
from register_agent.loyalty.domain import CustomerRef
from register_agent.loyalty.forms import FormValue, segment
from register_agent.loyalty.http import parse_with
from register_agent.loyalty.models_profile import MarketingRecipient
from register_agent.loyalty.profile import NewsletterState
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v1.paths import V1Api

#: 55005 "marketing recipient already exists" (for this program and e-mail)
RECIPIENT_EXISTS = 55005


class Paths:
    """v1 paths below ``/api/v1/register`` (inferred, like most v1 paths: see v1/paths.py)."""

    RECIPIENTS = "/marketing-recipients"
    RECIPIENT = "/marketing-recipients/{id}"


_recipient = parse_with(TypeAdapter(MarketingRecipient))
_recipients = parse_with(TypeAdapter(list[MarketingRecipient]))


def _same_email(recipient: MarketingRecipient, email: str) -> bool:
    return (recipient.email or "").strip().lower() == email.strip().lower()


class V1ProfileService:
    """Newsletter opt-in and opt-out through v1 marketing recipients."""

    def __init__(self, api: V1Api, config: NewsletterConfig) -> None:
        self.api = api
        self._program = config.marketing_program_id

    async def set_newsletter(
        self,
        customer: CustomerRef,
        email: str | None,
        subscribed: bool,
        *,
        deadline: Deadline | None = None,
    ) -> NewsletterState:
        deadline = deadline or self.api.http.default_deadline()
        program = self._program_id()
        if not email and customer.key.isdigit():
            email = (await self.api.member(int(customer.key), deadline=deadline)).member.email
        if not email:
            raise RequestRejected("the member has no e-mail address to subscribe", status=0)
        recipient: MarketingRecipient | None
        if subscribed:
            recipient = await self._subscribe(program, email, deadline)
        else:
            recipient = await self._unsubscribe(program, email, deadline)
        if recipient is None or not recipient.is_subscribed:
            return NewsletterState.UNSUBSCRIBED
        return NewsletterState.SUBSCRIBED

    def _program_id(self) -> int:
        if self._program is None:
            raise ConfigError(
                "newsletter.marketing_program_id is not set: name the marketing program the "
                "counter's newsletter opt-in adds customers to"
            )
        return self._program

    async def _subscribe(self, program: int, email: str, deadline: Deadline) -> MarketingRecipient:
        # Decision: there is no documented find-by-email, so create first (a new recipient
        # is subscribed: one request in the usual case); 55005 means the address is on the
        # list already: find it in the list and switch it on.
        form: dict[str, FormValue] = {"marketing_program_id": program, "email": email}
        try:
            return await self.api.http.post(
                Paths.RECIPIENTS, _recipient, form=form, deadline=deadline
            )
        except RequestRejected as exc:
            if exc.code != RECIPIENT_EXISTS:
                raise
        found = await self._find(program, email, deadline)
        if found is None:
            raise RequestRejected(
                "the marketing recipient exists (55005) but was not found in the list; "
                "change the subscription in the Piggy dashboard",
                status=0,
                code=RECIPIENT_EXISTS,
            )
        return found if found.is_subscribed else await self._switch(found, True, deadline)

    async def _unsubscribe(
        self, program: int, email: str, deadline: Deadline
    ) -> MarketingRecipient | None:
        # not on the list: nothing to switch off, and no recipient is created just for that
        found = await self._find(program, email, deadline)
        if found is None or not found.is_subscribed:
            return found
        return await self._switch(found, False, deadline)

    async def _find(
        self, program: int, email: str, deadline: Deadline
    ) -> MarketingRecipient | None:
        """The recipient of ``email``: the list filtered by program and e-mail. Decision: the
        filters are not documented, so every address that comes back is checked here too
        (should the API ignore them, only its first page is searched: then the opt-in is
        refused with a clear message rather than guessed)."""
        params: dict[str, FormValue] = {"marketing_program_id": program, "email": email}
        listed = await self.api.http.get(
            Paths.RECIPIENTS, _recipients, params=params, deadline=deadline
        )
        return next((r for r in listed if _same_email(r, email)), None)

    async def _switch(
        self, recipient: MarketingRecipient, subscribed: bool, deadline: Deadline
    ) -> MarketingRecipient:
        path = Paths.RECIPIENT.format(id=segment(str(recipient.id)))
        form: dict[str, FormValue] = {"is_subscribed": subscribed}
        return await self.api.http.put(path, _recipient, form=form, deadline=deadline)

    async def update_attributes(
        self,
        customer: CustomerRef,
        attributes: Mapping[str, str],
        *,
        deadline: Deadline | None = None,
    ) -> dict[str, str]:
        raise RequestRejected(
            "Register API v1 has no call that changes a member's attributes; change them in "
            "the Piggy dashboard",
            status=0,
        )
