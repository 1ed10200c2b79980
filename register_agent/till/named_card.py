"""The card a sale names (``customer_card``), looked up once while the sale is made.

Decision: a card that cannot collect (unregistered, unknown, inactive) makes the sale one
without a card: a QR the customer can still claim, and a notice the POS shows, rather than
"points will be added" for a credit that would only end dead. Offline, or not answered in
time, the card is resolved by the outbox as before (an unregistered card then ends dead
with the reason: that cannot be known earlier). The notice is part of the sale's loyalty
block from the start, so the answer after the wait carries it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from register_agent.common.masking import mask
from register_agent.config import TillConfig
from register_agent.counter.enrolment.desk import UNREGISTERED_MESSAGE
from register_agent.counter.health import TillHealth
from register_agent.counter.messages import CardNotice
from register_agent.errors import LoyaltyApiError
from register_agent.loyalty.domain import CardState, CustomerRef, LoyaltyService
from register_agent.loyalty.retries import Deadline

#: what the notice adds: the sale's points are not lost
QR_INSTEAD = "this sale's points can be collected with the QR code"


@dataclass(frozen=True)
class NamedCard:
    """A sale's ``customer_card`` as looked up at the counter: its customer when it can
    collect, the notice when it cannot, neither when it could not be looked up in time."""

    customer: CustomerRef | None = None
    notice: CardNotice | None = None

    def stored(self, request: dict[str, Any]) -> dict[str, Any]:
        """The sale's request as the journal keeps it: a card that will not collect is
        needed by no operation, so only its last characters are kept (no full card value in
        the journal)."""
        card = request.get("customer_card")
        if self.notice is not None and isinstance(card, str):
            return {**request, "customer_card": mask(card)}
        return request


class NamedCards:
    """Looks up the card a sale names, within the sale's receipt wait."""

    def __init__(
        self,
        loyalty: LoyaltyService,
        health: TillHealth,
        *,
        till: TillConfig,
        remember_blank: Callable[[str], None],
    ) -> None:
        self._loyalty = loyalty
        self._health = health
        self._config = till
        self._remember_blank = remember_blank  # a hand-out may follow without the number

    async def look_up(self, card: str) -> NamedCard:
        """``card``'s customer, or why it cannot collect; neither when offline or late."""
        wait_s = min(self._config.receipt_wait_s, self._loyalty.counter_deadline().remaining())
        if wait_s <= 0 or self._health.api_state in ("unreachable", "key_refused"):
            return NamedCard()
        try:
            found = await self._loyalty.identify(
                card, deadline=Deadline.after(wait_s), with_balance=False
            )
        except LoyaltyApiError as exc:
            self._health.api_failed(exc)
            return NamedCard()
        self._health.api_answered()
        if found.usable and found.customer is not None:
            return NamedCard(customer=found.customer.ref)
        if found.state is CardState.UNREGISTERED:
            self._remember_blank(card)
            message = f"{UNREGISTERED_MESSAGE}; {QR_INSTEAD}"
            return NamedCard(notice=CardNotice(code="card_unregistered", message=message))
        code = "card_inactive" if found.state is CardState.INACTIVE else "card_unknown"
        return NamedCard(notice=CardNotice(code=code, message=f"{found.reason}; {QR_INSTEAD}"))
