"""The outbox's handler for a reward claim whose answer was lost (``reward_claim``): it
finds out whether the claim landed, and never claims anything itself.

A claim is online only (``counter/claims.py``): when its answer is lost, the desk journals
the claim ``unknown`` with this operation, and the outbox reconciles it like any other
operation. What it finds, the claim's row follows (``journal/claims.py``): the claim id
then answers the claim's success, or, when it did not land, may be claimed again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from register_agent.journal import Journal, Operation
from register_agent.journal.payloads import RewardClaimPayload
from register_agent.journal.results import RewardClaimResult
from register_agent.loyalty import CustomerRef, LoyaltyService
from register_agent.outbox.contract import (
    Delivered,
    Progress,
    Reconciled,
    fitting_payload,
    payload_of,
)
from register_agent.outbox.reversals import balance_or_none

log = logging.getLogger(__name__)

#: how much earlier than the attempt a claim may be stamped and still be ours: the API
#: stamps whole seconds, and the till's clock may be off from the API's by a little
CLOCK_MARGIN_S = 120.0
#: how long after the attempt began a claim not found is taken as "did not land": a
#: request the server was still working on (a 3-second latency, a hung worker) can land
#: after our deadline passed, so an early "not found" only means "look again later"
SETTLE_AFTER_S = 120.0


class RewardClaimHandler:
    """Reconciles a lost reward claim from the customer's loyalty transactions (v3)."""

    def __init__(
        self,
        loyalty: LoyaltyService,
        journal: Journal,
        *,
        clock: Callable[[], float] = time.time,
        settle_after_s: float = SETTLE_AFTER_S,
    ) -> None:
        self._loyalty = loyalty
        self._journal = journal
        self._clock = clock
        self._settle_after_s = settle_after_s

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        # Reached only once the claim is known not to have landed (reconciliation, or a
        # person's --resend in review). The outbox never claims: a claim spends credits, so
        # it is made with the cashier and the customer there. "Not applied" makes the
        # claim's row refused, and the POS's next request under the same claim id is a
        # fresh attempt, checked by the API (credits, stock, limits) at that moment; a
        # refusal would only make the cashier invent a new id for the same act.
        payload_of(operation, RewardClaimPayload)
        return Delivered(None, RewardClaimResult(applied=False))

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        payload = fitting_payload(operation, RewardClaimPayload)
        if payload is None or not self._loyalty.can_reconcile:
            # v1 lists no transactions: nothing can tell; a person decides (review)
            return Reconciled.UNRESOLVABLE
        if await self._journal.claims_in_flight_alike(payload.claim_id):
            # the same reward for the same customer is being claimed right now: its
            # reception, not yet known by its answer, would look like ours
            return Reconciled.NOT_YET
        customer = CustomerRef(key=payload.customer.key)
        since = datetime.fromtimestamp(payload.started_at - CLOCK_MARGIN_S, UTC)
        found = await self._loyalty.find_claims(customer, payload.reward_key, since=since)
        # a claim this till knows by its answer (another claim id, the same reward) is not
        # this one: the customer who claims two coffees in a row makes two candidates
        known = await self._journal.claim_receptions(except_claim=payload.claim_id)
        found = [claim for claim in found if claim.claim_id not in known]
        if len(found) > 1:
            # The documented list entries carry no id of ours (no custom attributes), so two
            # claims of the same reward for the same customer at this shop since the attempt
            # (another till, the dashboard, the app) cannot be told apart: a person decides
            # rather than the agent guessing which one, if any, is ours.
            log.warning(
                "claim %s: %d reward receptions could be it; a person decides (review)",
                payload.claim_id,
                len(found),
            )
            return Reconciled.UNRESOLVABLE
        if found:
            # Exactly one unexplained reception of this reward, for this customer, at this
            # shop, stamped after the attempt began: ours. (The one case this misreads, our
            # claim lost before the server and someone else claiming the same reward for
            # the same customer at the same shop within the margin, is taken as the risk.)
            claim = found[0]
            balance = await balance_or_none(self._loyalty, customer)
            return Delivered(
                claim.claim_id,
                RewardClaimResult(
                    applied=True,
                    reception_id=claim.claim_id,
                    title=claim.title,
                    credits=claim.credits,
                    balance=balance,
                    external_property=claim.external_property,
                    code=claim.code,
                ),
            )
        if self._clock() - payload.started_at < self._settle_after_s:
            return Reconciled.NOT_YET  # the server may still be writing it
        return Reconciled.NOT_APPLIED
