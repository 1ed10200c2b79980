"""The till's current customer: a scan binds a card to the next sale only.

The binding is consumed by that sale, expires after ``[till] customer_window_s`` or when
the POS clears it, so the next shopper is never credited to the previous one. A scan made
while the Register API is unreachable binds the card unresolved; the sale's operation
resolves it before crediting (design.md "The flow", step 2).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from register_agent.counter import CustomerView, RewardView
from register_agent.loyalty.domain import Customer, CustomerRef, Reward
from register_agent.scans import safe_tail


@dataclass(frozen=True)
class BoundCustomer:
    """A scanned card waiting for the next sale; ``customer`` None: not resolved yet.

    ``card`` is None for a customer found without a card (by e-mail, ``enrolment.py``)."""

    card: str | None
    customer: Customer | None
    rewards: tuple[Reward, ...]
    bound_at: float

    @property
    def ref(self) -> CustomerRef | None:
        return self.customer.ref if self.customer else None

    def view(self) -> CustomerView:
        balance = self.customer.balance if self.customer else None
        return CustomerView(
            display=self.customer.display if self.customer else "",
            balance=balance,
            card_tail=safe_tail(self.card) if self.card else None,
            rewards=tuple(reward_view(reward, balance) for reward in self.rewards),
        )


def reward_view(reward: Reward, balance: int | None) -> RewardView:
    return RewardView(
        key=reward.key,
        title=reward.title,
        required_credits=reward.required_credits,
        claimable=balance is not None and balance >= reward.required_credits,
        external_property=reward.external_property,
    )


class CurrentCustomer:
    """Holds at most one bound customer, for at most ``window_s`` seconds."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._clock = clock
        self._bound: BoundCustomer | None = None

    def bind(
        self, card: str | None, customer: Customer | None, rewards: tuple[Reward, ...] = ()
    ) -> BoundCustomer:
        self._bound = BoundCustomer(card, customer, rewards, self._clock())
        return self._bound

    def peek(self) -> BoundCustomer | None:
        """The bound customer, unless the window has passed (then it is forgotten)."""
        if self._bound and self._clock() - self._bound.bound_at > self._window_s:
            self._bound = None
        return self._bound

    def take(self) -> BoundCustomer | None:
        """The bound customer for a sale: the sale consumes it."""
        bound = self.peek()
        self._bound = None
        return bound

    def clear(self) -> None:
        self._bound = None
