"""How the till is doing, in the few fields of ``GET /v1/status`` and ``register-agent
status``: the Register API, the outbox against its store-and-forward caps, the printer and
the readers. A cap passed raises an alert; loyalty never blocks the sale itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from register_agent.config import OutboxConfig
from register_agent.counter.messages import TillStatus
from register_agent.errors import CredentialsRejected, LoyaltyApiError, RequestRejected
from register_agent.journal import Journal
from register_agent.receipts.held import HELD_REPORTED_S, held_alert

ApiState = Literal["reachable", "unreachable", "key_refused", "unknown"]


class TillHealth:
    """Collects what the parts know of themselves; asks the journal for the outbox."""

    def __init__(
        self,
        journal: Journal,
        caps: OutboxConfig,
        *,
        printer: Callable[[], str] = lambda: "none",
        readers: Callable[[], tuple[str, ...]] = tuple,
        credentials_refused: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._caps = caps
        self._printer = printer
        self._readers = readers
        self._credentials_refused = credentials_refused
        self._clock = clock
        self._api: ApiState = "unknown"

    def api_result(self, failure: LoyaltyApiError | None) -> None:
        """What the last Register API call said: None, it answered; else how it failed."""
        if failure is None or isinstance(failure, RequestRejected):
            self.api_answered()  # a refusal with a code is an answer
        else:
            self.api_failed(failure)

    def api_answered(self) -> None:
        self._api = "reachable"

    def api_failed(self, exc: LoyaltyApiError) -> None:
        self._api = "key_refused" if isinstance(exc, CredentialsRejected) else "unreachable"

    @property
    def api_state(self) -> ApiState:
        return "key_refused" if self._credentials_refused() else self._api

    async def status(self) -> TillStatus:
        summary = await self._journal.outbox_summary(self._clock())
        waiting = summary.pending + summary.in_flight + summary.unknown
        alerts: list[str] = []
        if self.api_state == "key_refused":
            alerts.append("the Register API refuses the API key: sending is paused")
        if waiting > self._caps.max_pending:
            alerts.append(f"{waiting} operations waiting (more than {self._caps.max_pending})")
        age = summary.oldest_pending_age_s
        if age is not None and age > self._caps.max_age_s:
            alerts.append(f"the oldest operation has waited {age / 3600:.1f} h")
        if summary.review:
            alerts.append(f"{summary.review} operations need a person: register-agent review")
        if summary.dead:
            alerts.append(f"{summary.dead} operations were refused by the Register API")
        if unconfirmed := await self._journal.giftcard_payments_to_check():
            alerts.append(
                f"{unconfirmed} giftcard payments are not confirmed: check the cards, then "
                "register-agent review"
            )
        held = await self._journal.held_receipts(self._clock() - HELD_REPORTED_S)
        if (receipts := held_alert(held)) is not None:
            alerts.append(receipts)
        return TillStatus(
            register_api=self.api_state,
            outbox_pending=waiting,
            outbox_oldest_age_s=age,
            outbox_review=summary.review,
            outbox_dead=summary.dead,
            alerts=tuple(alerts),
            printer=self._printer(),
            readers=self._readers(),
        )
