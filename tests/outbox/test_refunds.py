"""The refund share: parts of a refunded sale take back, together, exactly what it earned."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from register_agent.outbox.refund_plan import credits_to_take_back


def take_back_in_parts(earned: int, parts: list[int]) -> list[int]:
    """Credits taken back by each part (cents) of a sale of ``sum(parts)`` cents."""
    total, refunded, taken, each = sum(parts), 0, 0, []
    for part in parts:
        refunded += part
        credits = credits_to_take_back(earned, taken, Decimal(refunded) / Decimal(total))
        taken += credits
        each.append(credits)
    return each


def test_half_a_credit_rounds_up_and_the_rest_is_exact() -> None:
    assert take_back_in_parts(10, [250, 750]) == [3, 7]
    assert take_back_in_parts(10, [250, 250, 250, 250]) == [3, 2, 3, 2]
    assert take_back_in_parts(0, [100, 100]) == [0, 0]


@given(
    earned=st.integers(min_value=0, max_value=10_000),
    parts=st.lists(st.integers(min_value=1, max_value=100_000), min_size=1, max_size=12),
)
def test_parts_add_up_to_what_the_sale_earned(earned: int, parts: list[int]) -> None:
    taken = take_back_in_parts(earned, parts)
    assert sum(taken) == earned
    assert all(credits >= 0 for credits in taken)
