"""Which of a contact's loyalty transactions may be a lost reward claim (v3), by the
documented fields only: a field that proves another rules an entry out, a missing one
never does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from register_agent.loyalty.v3.claim_history import claims_matching
from register_agent.loyalty.v3.models import LoyaltyTransaction

COFFEE = "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
CAKE = "7f3c0e5b-2a4d-4c6e-9f80-ab1c2d3e4f50"
SHOP = "123abc-def789-qwerty-34567"  # the docs' example shop (not a uuid)
SINCE = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def entry(number: int, **fields: Any) -> LoyaltyTransaction:
    body = {
        "uuid": f"00000000-0000-4000-8000-{number:012d}",
        "type": "reward_reception",
        "credits": -50,
        "created_at": "2026-12-04T12:00:05+00:00",
        "shop": {"uuid": SHOP, "name": "Krusty Krab"},
        "reward": {"uuid": COFFEE, "title": "Free coffee"},
        **fields,
    }
    return LoyaltyTransaction.model_validate(body)


def test_only_what_a_documented_field_proves_to_be_another_is_left_out() -> None:
    entries = [
        entry(1),  # the claim itself
        entry(2, reward={"uuid": CAKE, "title": "Cake"}),  # another reward
        entry(3, created_at="2026-12-04T11:59:59+00:00"),  # before the attempt
        entry(4, shop={"uuid": "other-shop", "name": "Other"}),  # another shop
        entry(5, type="credit_reception", credits=10),  # credits earned, not spent
        entry(6, reward=None, shop=None, created_at=None),  # nothing rules it out
    ]
    found = claims_matching(entries, COFFEE, since=SINCE, shop=SHOP)
    assert [claim.claim_id[-1] for claim in found] == ["1", "6"]
    assert (found[0].title, found[0].credits) == ("Free coffee", -50)
