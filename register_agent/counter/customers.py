"""The till's current customer: a scan binds a card to the next sale only.

The binding is consumed by that sale, expires after ``[till] customer_window_s`` or when
the POS clears it, so the next shopper is never credited to the previous one. A scan made
while the Register API is unreachable binds the card unresolved; the sale's operation
resolves it before crediting (docs/architecture.md, "A sale, from scan to receipt").
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from register_agent.common.masking import safe_tail
from register_agent.counter.messages import CustomerView, RewardView
from register_agent.loyalty.attributes import merged
from register_agent.loyalty.domain import Customer, CustomerDetails, CustomerRef, Reward


@dataclass(frozen=True)
class BoundCustomer:
    """A scanned card waiting for the next sale; ``customer`` None: not resolved yet.

    ``card`` is None for a customer found without a card (by e-mail, ``counter/enrolment/``)."""

    card: str | None
    customer: Customer | None
    rewards: tuple[Reward, ...]
    bound_at: float

    @property
    def ref(self) -> CustomerRef | None:
        return self.customer.ref if self.customer else None

    def view(self, *, only: Collection[str] | None = None) -> CustomerView:
        """The customer for the POS; ``only`` keeps just those attributes (a sale's answer
        keeps what its receipt prints, so the journal holds no more personal data)."""
        balance = self.customer.balance if self.customer else None
        attributes = dict(self.customer.attributes) if self.customer else {}
        if only is not None:
            attributes = {name: value for name, value in attributes.items() if name in only}
        return CustomerView(
            display=self.customer.display if self.customer else "",
            balance=balance,
            card_tail=safe_tail(self.card) if self.card else None,
            rewards=tuple(reward_view(reward, balance) for reward in self.rewards),
            attributes=attributes,
        )


def with_details(customer: Customer, details: CustomerDetails | None) -> Customer:
    """``customer`` with the balance and attributes read after the scan (None: not read)."""
    if details is None:
        return dataclasses.replace(customer, balance=None)
    attributes = merged(customer.attributes, details.attributes)
    return dataclasses.replace(customer, balance=details.balance, attributes=attributes)


def sale_customer(bound: BoundCustomer, wanted: Mapping[str, str]) -> dict[str, object]:
    """A sale's loyalty block fields for ``bound``: of the attributes only what the receipt
    prints (``wanted``) is kept, since the answer is stored in the journal for repeats and
    reprints; ``customer_lines`` is that part as printed."""
    attributes = bound.customer.attributes if bound.customer else {}
    return {
        "customer": bound.view(only=wanted.keys()),
        "customer_lines": receipt_lines(attributes, wanted),
    }


def receipt_lines(attributes: Mapping[str, str], wanted: Mapping[str, str]) -> tuple[str, ...]:
    """The attribute lines of a receipt: ``wanted`` maps a name to its label (``[receipt]
    customer_attributes``); a name the customer lacks prints nothing, an empty label
    prints the value alone."""
    lines = []
    for name, label in wanted.items():
        value = attributes.get(name)
        if value:
            lines.append(f"{label}: {value}" if label else value)
    return tuple(lines)


def reward_view(reward: Reward, balance: int | None) -> RewardView:
    return RewardView(
        key=reward.key,
        title=reward.title,
        required_credits=reward.required_credits,
        claimable=balance is not None and balance >= reward.required_credits,
        external_property=reward.external_property,
        media_url=reward.media_url,
        pre_redeemable=reward.pre_redeemable,
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

    def waiting(self) -> bool:
        """Whether a customer is bound and within its window. It changes nothing (``peek``
        forgets an expired one), so the pass-through relay's thread may ask it while the
        event loop binds: one read of the binding, which only the loop writes."""
        bound = self._bound
        return bound is not None and self._clock() - bound.bound_at <= self._window_s

    def update_attributes(
        self, ref: CustomerRef, attributes: Mapping[str, str]
    ) -> BoundCustomer | None:
        """New attributes for the bound customer, if it is ``ref`` (its window runs on)."""
        bound = self.peek()
        if bound is None or bound.customer is None or bound.customer.ref.key != ref.key:
            return None
        customer = dataclasses.replace(bound.customer, attributes=dict(attributes))
        self._bound = dataclasses.replace(bound, customer=customer)
        return self._bound

    def take(self) -> BoundCustomer | None:
        """The bound customer for a sale: the sale consumes it."""
        bound = self.peek()
        self._bound = None
        return bound

    def give_back(self, bound: BoundCustomer | None) -> None:
        """A sale that took ``bound`` was not recorded: bound again for its resend, unless
        another card was scanned meanwhile (its window runs on from the scan)."""
        if self.peek() is None:
            self._bound = bound

    def clear(self) -> None:
        self._bound = None
