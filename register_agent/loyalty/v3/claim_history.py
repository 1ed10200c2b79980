"""A lost reward claim looked for among the contact's loyalty transactions (v3): the
reading behind ``V3LoyaltyService.find_claims``, which the outbox's ``reward_claim``
handler (``outbox/claims.py``) uses to tell whether the claim landed.

The reward reception answer carries no id of ours and the documented list entries carry
no custom attributes (docs/register-api.md, "Where the documentation and the code
disagree", 6), so a claim is recognised by documented fields only: its type, its reward,
its credits, when it was made and at which shop. Whether one candidate is certain enough
is the handler's call.
"""

from __future__ import annotations

from datetime import UTC, datetime

from register_agent.errors import OutcomeUnknown
from register_agent.loyalty.domain import RewardClaim
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.v3.models import LoyaltyTransaction
from register_agent.loyalty.v3.paths import V3Api

#: pages of 100 reward receptions read before giving up (a person decides then)
MAX_PAGES = 20


#: the list entries a claim can be: a physical reward's reception, and a digital one's,
#: which the vendor documents as a type of its own (with its ``digital_reward_code``);
#: None: an entry that does not say is not ruled out
CLAIM_TYPES = (None, "reward_reception", "digital_reward_reception")


async def reward_receptions(
    api: V3Api, contact_uuid: str, *, deadline: Deadline | None = None
) -> list[LoyaltyTransaction]:
    """Every reward reception of the contact (the docs promise no order: all pages)."""
    found: list[LoyaltyTransaction] = []
    for page in range(1, MAX_PAGES + 1):
        entries, meta = await api.loyalty_transactions(
            contact_uuid, page=page, kind="reward_receptions", deadline=deadline
        )
        found.extend(entries)
        if page >= meta.last_page or not entries:
            return found
    raise OutcomeUnknown(
        f"the customer has more than {MAX_PAGES * 100} reward receptions; whether the claim "
        "landed cannot be told: a person must review it"
    )


def claims_matching(
    entries: list[LoyaltyTransaction], reward_key: str, *, since: datetime, shop: str | None
) -> list[RewardClaim]:
    """The entries that may be the claim of ``reward_key`` made from ``since`` on at ``shop``.

    An entry is left out only by a documented field that proves it is another: not a reward
    reception, another reward, credits gained rather than spent, made before ``since``, or
    made at another shop. A field an entry lacks proves nothing, so it stays a candidate:
    the caller then sees two where it cannot tell them apart, never one by omission.
    """
    return [
        RewardClaim(
            claim_id=str(entry.uuid),
            title=entry.title or (reward.title if reward else None) or "",
            credits=entry.credits or 0,
            balance=None,
            # the entry's own reward and code, when it carries them (documented fields)
            external_property=entry.plu(),
            code=entry.code(),
        )
        for entry in entries
        for reward in [entry.claimed()]
        if entry.type in CLAIM_TYPES
        and (reward is None or str(reward.uuid) == reward_key)
        and (entry.credits is None or entry.credits <= 0)
        and (entry.created_at is None or _utc(entry.created_at) >= since)
        and (shop is None or entry.shop is None or entry.shop.uuid in (None, shop))
    ]


def _utc(moment: datetime) -> datetime:
    """A time without a zone is read as UTC (the docs' times all carry +00:00)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
