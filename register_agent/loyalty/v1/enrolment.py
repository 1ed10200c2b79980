"""``Enrolment`` on the v1 Register API: members found by e-mail or listed, and a blank
loyalty card linked to the member of an e-mail (created when there is none).

v1 cannot create loyalty cards: a hand-out needs a card the program already knows.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from register_agent.errors import LoyaltyApiError, RequestRejected
from register_agent.loyalty.attributes import customer_from_member
from register_agent.loyalty.domain import Customer, CustomerRef
from register_agent.loyalty.enrolment import (
    CARD_INACTIVE,
    CARD_UNKNOWN,
    CustomerPage,
    HandOutRefused,
    same_email,
    taken,
)
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v1.members import V1MembersApi
from register_agent.loyalty.v1.models import LoyaltyCard, MemberRef, MemberWithBalance
from register_agent.loyalty.v1.paths import V1Api

log = logging.getLogger(__name__)

MEMBER_NOT_FOUND = 55012
MEMBER_EXISTS = 55017
CARD_LINKED = 55016
_NOT_A_CARD = frozenset({55007, 1048, 1003})


def _customer(found: MemberWithBalance, card_id: int | None = None) -> Customer:
    """The member as identify builds it (attributes included), named with ``card_id``; a
    member without a credit balance yet (a new one) has 0 credits."""
    customer = customer_from_member(found)
    ref = CustomerRef(key=customer.ref.key, card=None if card_id is None else str(card_id))
    balance = 0 if customer.balance is None else customer.balance
    return replace(customer, ref=ref, balance=balance)


class V1Enrolment:
    """Members and new cards over Register API v1."""

    def __init__(self, api: V1Api) -> None:
        self.api = api
        self.members = V1MembersApi(api.http)

    async def find_customer(self, email: str, *, deadline: Deadline | None = None) -> Customer:
        return _customer(await self.members.find_member(email, deadline=deadline))

    async def list_customers(
        self, page: int, limit: int, *, deadline: Deadline | None = None
    ) -> CustomerPage:
        members, meta = await self.members.list_members(page=page, limit=limit, deadline=deadline)
        customers = tuple(
            Customer(CustomerRef(key=str(m.id)), display=m.email or "", balance=None)
            for m in members
        )
        return CustomerPage(customers, meta.page, meta.limit or limit, meta.last_page, meta.total)

    async def hand_out_card(
        self, card: str, email: str, *, deadline: Deadline | None = None
    ) -> Customer:
        deadline = deadline or self.api.http.default_deadline()
        found = await self._card(card, deadline)
        if found.member is not None:
            if not same_email(found.member.email, email):
                raise taken(card[-4:])
            return await self._holder(found.member, found.id, deadline)  # handed out already
        member = await self._find_or_create(email, deadline)
        try:
            await self.members.link_loyalty_card(member.id, found.id, deadline=deadline)
        except RequestRejected as exc:
            if exc.code != CARD_LINKED:
                raise
            # linked since we looked: by an earlier attempt of this very hand-out (fine),
            # or by another till to someone else (refused)
            found = await self._card(card, deadline)
            if found.member is None or found.member.id != member.id:
                raise taken(card[-4:]) from exc
        return await self._holder(member, found.id, deadline)

    async def _card(self, card: str, deadline: Deadline) -> LoyaltyCard:
        try:
            found = await self.api.find_loyalty_card(card, deadline=deadline)
        except RequestRejected as exc:
            if exc.code in _NOT_A_CARD:
                raise HandOutRefused(
                    CARD_UNKNOWN,
                    f"card …{card[-4:]} is not a card of this loyalty program (Register API "
                    "v1 cannot add cards); hand out one of the program's cards",
                    code=exc.code,
                ) from exc
            raise
        if found.status != "ACTIVE":
            raise HandOutRefused(
                CARD_INACTIVE,
                f"card …{card[-4:]} is {found.status.lower()}; hand out another card",
            )
        return found

    async def _find_or_create(self, email: str, deadline: Deadline) -> MemberRef:
        try:
            return (await self.members.find_member(email, deadline=deadline)).member
        except RequestRejected as exc:
            if exc.code != MEMBER_NOT_FOUND:
                raise
        try:
            return await self.members.create_member(email, deadline=deadline)
        except RequestRejected as exc:
            if exc.code != MEMBER_EXISTS:
                raise
        # made since we looked (another till, or our own earlier attempt): found after all
        return (await self.members.find_member(email, deadline=deadline)).member

    async def _holder(self, member: MemberRef, card_id: int, deadline: Deadline) -> Customer:
        """The customer with the card and the starting balance; the card is theirs now, so
        a balance that cannot be read is left out rather than failing the hand-out."""
        try:
            return _customer(await self.api.member(member.id, deadline=deadline), card_id)
        except LoyaltyApiError as exc:
            log.info("starting balance not read, shown without it: %s", exc)
            ref = CustomerRef(key=str(member.id), card=str(card_id))
            return Customer(ref=ref, display=member.email or "", balance=None)
