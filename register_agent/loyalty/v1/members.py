"""The v1 Register API's member calls: create, find by e-mail, list, and link a loyalty
card; each path in one place (``MemberPaths``), like ``v1.Paths``.

List Members' paging parameters are not public: we send ``page`` and ``limit`` like v3
and read v3's paging meta, defaulting to one page.
"""

from __future__ import annotations

from pydantic import TypeAdapter

from register_agent.loyalty.http import RegisterHttp, parse_with
from register_agent.loyalty.outcomes import Envelope
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v1.models import LoyaltyCard, MemberRef, MemberWithBalance
from register_agent.loyalty.v3.models import PageMeta


class MemberPaths:
    """v1 member paths below ``/api/v1/register`` (rows 2-5 and 7; 7's path is inferred)."""

    MEMBERS = "/members"
    MEMBER_BY_EMAIL = "/members/find-one-by"
    LINK_CARD = "/link-loyalty-card"


_member_ref = parse_with(TypeAdapter(MemberRef))
_member = parse_with(TypeAdapter(MemberWithBalance))
_card = parse_with(TypeAdapter(LoyaltyCard))
_members_adapter = TypeAdapter(list[MemberRef])
_meta_adapter = TypeAdapter(PageMeta)


def _members(envelope: Envelope) -> tuple[list[MemberRef], PageMeta]:
    return (
        _members_adapter.validate_python(envelope.data),
        _meta_adapter.validate_python(envelope.meta),
    )


class V1MembersApi:
    """The v1 member calls, one method each; errors are ``register_agent.errors`` classes."""

    def __init__(self, http: RegisterHttp) -> None:
        self.http = http

    async def create_member(self, email: str, *, deadline: Deadline | None = None) -> MemberRef:
        """55017 when a member has this e-mail already."""
        form = {"email": email}
        return await self.http.post(MemberPaths.MEMBERS, _member_ref, form=form, deadline=deadline)

    async def find_member(
        self, email: str, *, deadline: Deadline | None = None
    ) -> MemberWithBalance:
        """55012 when no member has this e-mail."""
        params = {"email": email}
        return await self.http.get(
            MemberPaths.MEMBER_BY_EMAIL, _member, params=params, deadline=deadline
        )

    async def list_members(
        self, *, page: int = 1, limit: int = 25, deadline: Deadline | None = None
    ) -> tuple[list[MemberRef], PageMeta]:
        params = {"page": page, "limit": limit}
        return await self.http.get(MemberPaths.MEMBERS, _members, params=params, deadline=deadline)

    async def link_loyalty_card(
        self, member_id: int, loyalty_card_id: int, *, deadline: Deadline | None = None
    ) -> LoyaltyCard:
        """55016 when the card is linked to a member already (this one or another)."""
        form = {"member_id": member_id, "loyalty_card_id": loyalty_card_id}
        return await self.http.post(MemberPaths.LINK_CARD, _card, form=form, deadline=deadline)
