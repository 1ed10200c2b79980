"""The v3 Register API's contact and contact-identifier calls: create and link identifiers;
find, find-or-create, anonymous and claimed contacts; each path in one place
(``ContactPaths``), like ``v3.Paths``.

``find-or-create`` is a GET that may create: repeating it is still safe (the second call
finds what the first made), so the inline retries of a GET are right for it too.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import TypeAdapter

from register_agent.loyalty.forms import FormValue, segment
from register_agent.loyalty.http import RegisterHttp, parse_with
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v1.models import ApiModel
from register_agent.loyalty.v3.models import Contact, ContactIdentifier


class ContactPaths:
    """v3 contact paths below ``/api/v3/register``."""

    IDENTIFIERS = "/contact-identifiers"
    LINK = "/contact-identifiers/link"
    FIND = "/contacts/find-one-by"
    FIND_OR_CREATE = "/contacts/find-or-create"
    # the docs' spelling; the sandbox also serves the Postman export's /contact/anonymous
    ANONYMOUS = "/contacts/anonymous"
    CLAIM = "/contacts/{uuid}/claim"


class CreatedContact(ApiModel):
    """What creating an anonymous contact answers: its uuid only."""

    uuid: UUID


_identifier = parse_with(TypeAdapter(ContactIdentifier))
_contact = parse_with(TypeAdapter(Contact))
_created = parse_with(TypeAdapter(CreatedContact))


class V3ContactsApi:
    """The v3 contact calls, one method each; errors are ``register_agent.errors`` classes."""

    def __init__(self, http: RegisterHttp) -> None:
        self.http = http

    async def create_contact_identifier(
        self,
        value: str,
        *,
        contact_uuid: str | None = None,
        name: str | None = None,
        deadline: Deadline | None = None,
    ) -> ContactIdentifier:
        """A new identifier, linked at once with ``contact_uuid``; 60006 when it exists."""
        form: dict[str, FormValue] = {
            "contact_identifier_value": value,
            "contact_uuid": contact_uuid,
            "contact_identifier_name": name,
        }
        return await self.http.post(
            ContactPaths.IDENTIFIERS, _identifier, form=form, deadline=deadline
        )

    async def link_contact_identifier(
        self, value: str, contact_uuid: str, *, deadline: Deadline | None = None
    ) -> ContactIdentifier:
        """60014 when the identifier is linked to a contact already (this one or another)."""
        form = {"contact_identifier_value": value, "contact_uuid": contact_uuid}
        return await self.http.call(
            "PUT", ContactPaths.LINK, _identifier, body=form, deadline=deadline
        )

    async def find_contact(self, email: str, *, deadline: Deadline | None = None) -> Contact:
        """55031 when no contact has this e-mail."""
        params = {"email": email}
        return await self.http.get(ContactPaths.FIND, _contact, params=params, deadline=deadline)

    async def find_or_create_contact(
        self, email: str, *, deadline: Deadline | None = None
    ) -> Contact:
        params = {"email": email}
        return await self.http.get(
            ContactPaths.FIND_OR_CREATE, _contact, params=params, deadline=deadline
        )

    async def create_anonymous_contact(
        self,
        *,
        identifier_value: str | None = None,
        identifier_name: str | None = None,
        deadline: Deadline | None = None,
    ) -> CreatedContact:
        """A contact without an e-mail, with a new or unlinked identifier (60014 linked)."""
        form: dict[str, FormValue] = {
            "contact_identifier_value": identifier_value,
            "contact_identifier_name": identifier_name,
        }
        return await self.http.post(ContactPaths.ANONYMOUS, _created, form=form, deadline=deadline)

    async def claim_anonymous_contact(
        self, contact_uuid: str, email: str, *, deadline: Deadline | None = None
    ) -> Contact:
        """The anonymous contact gets ``email``; 60016 when it is not anonymous."""
        path = ContactPaths.CLAIM.format(uuid=segment(contact_uuid))
        return await self.http.call("PUT", path, _contact, body={"email": email}, deadline=deadline)
