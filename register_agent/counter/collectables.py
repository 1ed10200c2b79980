"""Collectable rewards at the counter, as the POS sees them: a reward the customer
pre-redeemed (a claim of a pre-redeemable reward spent its credits) shown with the docs'
fields, and the refusal when the till has no client API to collect them with. The
reward desk lists them (``counter/claims.py``); a sale names those it hands out
(``SaleRequest.collect``) and the outbox collects them (``outbox/collectables.py``).
"""

from __future__ import annotations

from register_agent.counter.messages import CollectableView
from register_agent.errors import CounterRefusal
from register_agent.loyalty.orders.models import CollectableReward


def collectable_view(waiting: CollectableReward) -> CollectableView:
    reward = waiting.reward
    return CollectableView(
        uuid=waiting.uuid,
        title=waiting.title or (reward.title if reward else ""),
        reward_key=reward.uuid if reward else None,
        reward_type=reward.reward_type if reward else None,
        description=reward.description if reward else None,
        required_credits=reward.required_credits if reward else None,
        external_property=reward.external_property if reward else None,
        media_url=reward.media.value if reward and reward.media else None,
        created_at=waiting.created_at.isoformat() if waiting.created_at else None,
        expires_at=waiting.expires_at.isoformat() if waiting.expires_at else None,
    )


def collectables_off() -> CounterRefusal:
    """Without the account's personal access token nothing can be listed or collected."""
    return CounterRefusal(
        "collect_unavailable",
        "collectable rewards need Leat's client API: set the account's personal access "
        "token ([api] personal_access_token, the credential personal-access-token) and "
        "reload; until then send sales without collect",
        status=409,
    )
