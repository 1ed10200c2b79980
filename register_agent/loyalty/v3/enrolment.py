"""``Enrolment`` on the v3 Register API: contacts found by e-mail, and a card (a contact
identifier, created when the program does not know it yet) linked to the contact of an
e-mail, found or created in one call (``find-or-create``).

A card linked to an anonymous contact (made at an earlier sale) is handed out by claiming
that contact with the e-mail, so the credits already on the card stay with it.
"""

from __future__ import annotations

import logging

from register_agent.errors import RequestRejected
from register_agent.loyalty.attributes import customer_from_contact
from register_agent.loyalty.domain import Customer, CustomerRef
from register_agent.loyalty.enrolment import (
    CARD_INACTIVE,
    CARD_UNKNOWN,
    CustomerPage,
    HandOutRefused,
    ListingUnsupported,
    same_email,
    taken,
)
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v3.contacts import V3ContactsApi
from register_agent.loyalty.v3.models import Contact, ContactIdentifier, ContactRef
from register_agent.loyalty.v3.paths import V3Api

log = logging.getLogger(__name__)

IDENTIFIER_NOT_FOUND = 60003
IDENTIFIER_INACTIVE = 60004
IDENTIFIER_EXISTS = 60006
IDENTIFIER_LINKED = 60014
CONTACT_EXISTS = 60005


def _customer(contact: Contact | ContactRef, card: str | None = None) -> Customer:
    if isinstance(contact, Contact):  # a whole contact: built as identify builds it
        return customer_from_contact(contact, card)
    balance = contact.credit_balance.balance if contact.credit_balance else None
    ref = CustomerRef(key=str(contact.uuid), card=card)
    return Customer(ref=ref, display=contact.email or "", balance=balance)


class V3Enrolment:
    """Contacts and new cards over Register API v3."""

    def __init__(self, api: V3Api) -> None:
        self.api = api
        self.contacts = V3ContactsApi(api.http)

    async def find_customer(self, email: str, *, deadline: Deadline | None = None) -> Customer:
        return _customer(await self.contacts.find_contact(email, deadline=deadline))

    async def list_customers(
        self, page: int, limit: int, *, deadline: Deadline | None = None
    ) -> CustomerPage:
        raise ListingUnsupported(
            "the Register API v3 offers no list of contacts (List Members was a v1 call); "
            "find the customer by e-mail or by card instead",
            status=0,
        )

    async def hand_out_card(
        self, card: str, email: str, *, deadline: Deadline | None = None
    ) -> Customer:
        deadline = deadline or self.api.http.default_deadline()
        found = await self._identifier(card, deadline)
        if found is not None and found.contact is not None:
            return await self._handed_out(found, found.contact, email, deadline)
        contact = await self.contacts.find_or_create_contact(email, deadline=deadline)
        uuid = str(contact.uuid)
        if found is None:
            try:
                await self.contacts.create_contact_identifier(
                    card, contact_uuid=uuid, deadline=deadline
                )
            except RequestRejected as exc:
                if exc.code != IDENTIFIER_EXISTS:
                    raise
                await self._link(card, uuid, deadline)  # made since we looked
        else:
            await self._link(card, uuid, deadline)
        return _customer(contact, card)

    async def _handed_out(
        self, found: ContactIdentifier, holder: ContactRef, email: str, deadline: Deadline
    ) -> Customer:
        """A card that has a contact: this e-mail's (handed out already), an anonymous one
        (claimed now with the e-mail), or someone else's (refused)."""
        if same_email(holder.email, email):
            balance = await self.api.credit_balance(str(holder.uuid), deadline=deadline)
            ref = CustomerRef(key=str(holder.uuid), card=found.value)
            return Customer(ref=ref, display=holder.email or "", balance=balance.balance)
        if holder.email is not None:
            raise taken(found.value[-4:])
        try:
            claimed = await self.contacts.claim_anonymous_contact(
                str(holder.uuid), email, deadline=deadline
            )
        except RequestRejected as exc:
            if exc.code != CONTACT_EXISTS:
                raise
            raise HandOutRefused(
                "card_taken",
                f"card …{found.value[-4:]} belongs to an anonymous customer and this e-mail "
                "to another customer; hand out another card, or merge them in the dashboard",
                code=exc.code,
            ) from exc
        return _customer(claimed, found.value)

    async def _identifier(self, card: str, deadline: Deadline) -> ContactIdentifier | None:
        """The card as the program knows it; None when it does not (v3 may create it)."""
        try:
            return await self.api.find_contact_identifier(card, deadline=deadline)
        except RequestRejected as exc:
            if exc.code == IDENTIFIER_NOT_FOUND:
                return None
            if exc.code == IDENTIFIER_INACTIVE:
                raise HandOutRefused(
                    CARD_INACTIVE, f"card …{card[-4:]} is inactive; hand out another card"
                ) from exc
            if exc.code == 1003:
                raise HandOutRefused(
                    CARD_UNKNOWN,
                    f"card …{card[-4:]} is not a valid card value; scan the card again",
                    code=exc.code,
                ) from exc
            raise

    async def _link(self, card: str, contact_uuid: str, deadline: Deadline) -> None:
        try:
            await self.contacts.link_contact_identifier(card, contact_uuid, deadline=deadline)
        except RequestRejected as exc:
            if exc.code != IDENTIFIER_LINKED:
                raise
            # linked since we looked: by our own earlier attempt (fine) or to someone else
            found = await self.api.find_contact_identifier(card, deadline=deadline)
            if found.contact is None or str(found.contact.uuid) != contact_uuid:
                raise taken(card[-4:]) from exc
