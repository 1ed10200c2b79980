"""The two rules of Piggy's own counter app, kept by the till for every sale whoever sends
it (the counter page, a POS, a script), so no page has to be trusted to ask: an amount
above ``[till] confirm_above`` needs the cashier's confirmation, and one card earns at most
once within ``[till] card_lock_s``. Both off by default. ``till/sale.py`` asks them before
it records a new sale (a repeat of a recorded sale gets its first answer unasked).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from register_agent.config import TillConfig
from register_agent.counter.messages import CardNotice, SaleRequest
from register_agent.errors import CounterRefusal


class CounterRules:
    """Refuses an unconfirmed large amount; tells a card that earned too recently."""

    def __init__(self, till: TillConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_amount = till.max_sale_amount
        self._confirm_above = till.confirm_above
        self._lock_s = till.card_lock_s
        self._clock = clock
        #: the card (or customer) key -> when it last earned, in this run of the agent
        self._earned: dict[str, float] = {}

    def check_amount(self, request: SaleRequest) -> None:
        """Refused before anything is recorded (a refused sale leaves nothing behind its
        id): above ``max_sale_amount`` for good, above ``confirm_above`` until the POS
        sends the same sale again with ``"confirmed": true``."""
        if request.amount > self._max_amount:
            # the API would refuse it after "points will be added" was promised, and its
            # credits would be dead
            raise CounterRefusal(
                "amount_too_large",
                f"the sale's amount {request.amount} is above this till's maximum of "
                f"{self._max_amount} ([till] max_sale_amount); check the amount, "
                "and record a larger sale without loyalty",
                status=422,
            )
        limit = self._confirm_above
        if limit is None or request.confirmed or request.amount <= limit:
            return
        raise CounterRefusal(
            "amount_needs_confirmation",
            f"{request.amount} is more than {limit}: is that right (12.50 typed as 1250)? "
            'If so, send the sale again with "confirmed": true',
            status=422,
        )

    def earn(self, key: str | None) -> CardNotice | None:
        """None: the card may earn, and its lock starts now; else why it may not.

        Decided: a sale within the lock is still recorded (the shop's books need it, and
        the cashier has taken the money) but without credits, and its answer says so in
        ``loyalty.notice`` (``card_locked``): never refused as a whole, never silently
        without points. The lock is kept in memory: a restart of the agent forgets it,
        which at worst lets one sale earn that the lock would have stopped.
        """
        if key is None or self._lock_s <= 0:
            return None
        now = self._clock()
        self._earned = {k: t for k, t in self._earned.items() if now - t < self._lock_s}
        earned_at = self._earned.get(key)
        if earned_at is not None:
            wait_s = int(self._lock_s - (now - earned_at)) + 1
            return CardNotice(
                code="card_locked",
                message=f"this card already earned points moments ago; the shop allows one "
                f"sale with points per {int(self._lock_s)} s: this sale is recorded without "
                f"points (try again in {wait_s} s for the next sale)",
            )
        self._earned[key] = now
        return None

    def forget(self, key: str | None) -> None:
        """The sale that started the lock was not recorded after all (the journal)."""
        if key is not None:
            self._earned.pop(key, None)
