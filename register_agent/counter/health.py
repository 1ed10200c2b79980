"""How the till is doing, in the few fields of ``GET /v1/status`` and ``register-agent
status``: the Register API, the outbox against its store-and-forward caps, the printer and
the readers, the journal's storage and the workers in trouble. A cap passed raises an
alert; loyalty never blocks the sale itself, but a journal that takes no writes does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from register_agent.common.faults import WorkerFaults
from register_agent.config import OutboxConfig
from register_agent.counter.messages import PassthroughFigures, TillStatus
from register_agent.errors import (
    AlreadyApplied,
    CredentialsRejected,
    JournalError,
    LoyaltyApiError,
    OutcomeUnknown,
    RequestRejected,
)
from register_agent.journal import ClaimFigures, Journal, OutboxSummary
from register_agent.receipts.held import HELD_REPORTED_S, held_alert

ApiState = Literal["reachable", "unreachable", "key_refused", "unknown"]
#: lost answers in a row after which the Register API counts as unreachable
UNANSWERED_IS_DOWN = 3


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
        faults: WorkerFaults | None = None,
        passthrough: Callable[[], PassthroughFigures | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self.faults = faults or WorkerFaults()
        self._caps = caps
        self._printer = printer
        self._readers = readers
        self._credentials_refused = credentials_refused
        self._passthrough = passthrough
        self._clock = clock
        self._api: ApiState = "unknown"
        self._unanswered = 0  # lost answers in a row (OutcomeUnknown), since the last answer

    def api_result(self, failure: LoyaltyApiError | None) -> None:
        """What the last Register API call said: None, it answered; else how it failed."""
        if failure is None or isinstance(failure, RequestRejected | AlreadyApplied):
            self.api_answered()  # a refusal with a code (6001 too) is an answer
        else:
            self.api_failed(failure)

    def api_answered(self) -> None:
        self._api = "reachable"
        self._unanswered = 0

    def api_failed(self, exc: LoyaltyApiError) -> None:
        if isinstance(exc, OutcomeUnknown):
            # The request reached the server and its answer was lost (a reset, a 500 after
            # the commit, a slow answer past the deadline): one of them says the API is
            # there but stumbled. A run of them with no answer between (a hung API fails
            # every call, the outbox's and the counter's) is "unreachable".
            self._unanswered += 1
            if self._unanswered < UNANSWERED_IS_DOWN:
                return
        self._api = "key_refused" if isinstance(exc, CredentialsRejected) else "unreachable"

    @property
    def api_state(self) -> ApiState:
        return "key_refused" if self._credentials_refused() else self._api

    def trouble(self) -> list[str]:
        """The journal's storage and the workers in trouble, in the cashier's words (the
        first alerts of ``status``, and systemd's status line)."""
        lines = []
        fault = self._journal.fault
        if fault is not None and fault.kind == "disk_full":
            lines.append(
                f"the till's disk is full ({fault.detail}): sales are refused until space "
                "is freed in the state directory; the agent goes on by itself then"
            )
        elif fault is not None:
            lines.append(
                f"the journal is damaged ({fault.detail}): sales are refused; run "
                "register-agent journal recover, then restart the agent"
            )
        lines += [f"{worker}: {problem}" for worker, problem in self.faults.current().items()]
        return lines

    async def status(self) -> TillStatus:
        alerts = self.trouble()
        try:
            summary = await self._journal.outbox_summary(self._clock())
            unconfirmed = await self._journal.giftcard_payments_to_check()
            claims = await self._journal.claim_figures()
            held = await self._journal.held_receipts(self._clock() - HELD_REPORTED_S)
        except JournalError as exc:  # a damaged page: the status still answers
            summary, unconfirmed = OutboxSummary(0, 0, 0, 0, 0, None), 0
            claims, held = ClaimFigures(0, 0, 0), []
            alerts.append(f"the journal cannot be read: {exc}")
        waiting = summary.pending + summary.in_flight + summary.unknown
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
        if claims.review:
            alerts.append(
                f"{claims.review} reward claims may or may not have been made: check the "
                "customer's rewards in the dashboard, then register-agent review"
            )
        if unconfirmed:
            alerts.append(
                f"{unconfirmed} giftcard payments are not confirmed: check the cards, then "
                "register-agent review"
            )
        if (receipts := held_alert(held)) is not None:
            alerts.append(receipts)
        return TillStatus(
            register_api=self.api_state,
            outbox_pending=waiting,
            outbox_oldest_age_s=age,
            outbox_review=summary.review,
            outbox_dead=summary.dead,
            claims_unconfirmed=claims.unconfirmed,
            claims_review=claims.review,
            alerts=tuple(alerts),
            printer=self._printer(),
            readers=self._readers(),
            journal=self._journal.fault.kind if self._journal.fault else "ok",
            passthrough=self._passthrough(),
        )
