"""How v3's answers read as the till's awards, rewards and claims: a credit reception as a
``CreditAward``, a contact's loyalty transactions as the reversals of one of them, a v3
reward and reward reception as a ``Reward`` and a ``RewardClaim``. Pure functions beside
``V3LoyaltyService`` (``service``), which makes the calls.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from register_agent.loyalty.domain import CreditAward, Reward, RewardClaim
from register_agent.loyalty.v3 import models


def award_of(reception: models.CreditReception, operation_id: str | None) -> CreditAward:
    contact = reception.contact
    balance = contact.credit_balance if contact else None
    return CreditAward(
        reception_id=str(reception.uuid),
        credits=reception.credits,
        balance=balance.balance if balance else None,
        operation_id=operation_id or reception.agent_operation_id,
        created_at=reception.created_at,
    )


def awards_matching(
    entries: list[models.LoyaltyTransaction],
    amount: Decimal,
    *,
    since: datetime | None,
    shop: str | None,
) -> list[CreditAward]:
    """The credit receptions that may be a sale's of ``amount`` made from ``since`` on at
    ``shop``, told by documented fields only (the list entries carry no id of ours).

    An entry is left out only by a field that proves it is another: not a credit
    reception, another purchase amount, credits taken rather than given, made before
    ``since`` or at another shop. A field an entry lacks proves nothing, so the caller sees
    two where it cannot tell them apart, never one by omission.
    """
    return [
        CreditAward(
            reception_id=str(entry.uuid),
            credits=entry.credits or 0,
            balance=None,
            created_at=entry.created_at,
        )
        for entry in entries
        if entry.type in (None, "credit_reception")
        and (entry.unit_value is None or entry.unit_value == amount)
        and (entry.credits is None or entry.credits >= 0)
        and (since is None or entry.created_at is None or _utc(entry.created_at) >= since)
        and (shop is None or entry.shop is None or entry.shop.uuid in (None, shop))
    ]


def _utc(moment: datetime) -> datetime:
    """A time without a zone is read as UTC (the docs' times all carry +00:00)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def reversals_of(
    original_id: str, transactions: list[models.LoyaltyTransaction]
) -> list[CreditAward] | None:
    """The counter-entries that may be the reverse of ``original_id`` (None: no original).

    A reverse carries no link to what it reversed, so it is told by its shape, as the docs
    describe it ("a new Credit Reception with the same data as initially used, but for the
    negative number of credits"): a credit reception of the negated credits, not older than
    the original. Custom attributes decide nothing (the docs' list entries carry none). The
    list's order is not guaranteed by the docs, hence the dates rather than the positions.
    """
    original = next((t for t in transactions if str(t.uuid) == original_id), None)
    if original is None:
        return None
    return [
        CreditAward(
            reception_id=str(t.uuid),
            credits=t.credits or 0,
            balance=None,
            created_at=t.created_at,
        )
        for t in transactions
        if t is not original
        and t.type in (None, "credit_reception")
        and (t.credits or 0) == -(original.credits or 0)
        and not (t.created_at and original.created_at and t.created_at < original.created_at)
    ]


def reward_of(reward: models.Reward) -> Reward:
    return Reward(
        key=str(reward.uuid),
        title=reward.title,
        required_credits=reward.required_credits,
        kind=(reward.reward_type or reward.type or "physical").lower(),
        external_property=reward.external_property,
        stock=reward.stock,
        media_url=reward.media.value if reward.media else None,
        pre_redeemable=reward.pre_redeemable,
    )


def claim_of(claim: models.RewardReception) -> RewardClaim:
    balance = claim.contact.credit_balance if claim.contact else None
    reward = claim.claimed()
    return RewardClaim(
        claim_id=str(claim.uuid),
        title=claim.title or (reward.title if reward and reward.title else ""),
        credits=claim.credits,
        balance=balance.balance if balance else None,
        # where the docs put them: the reward's own attribute, the reception's code
        external_property=claim.plu(),
        code=claim.code(),
        collectable=bool(reward and reward.pre_redeemable),
    )
