"""Reward claims at the counter: online only, once per POS claim id.

A claim is never queued: offline, the POS gets a clear refusal instead of a claim that
could overspend later (docs/architecture.md, "Exactly once"). The claim is written
``in_flight`` before its request leaves; the same claim id again returns the first answer.
A claim whose answer was lost is reported "not confirmed" and becomes an operation like
the others (a ``reward_claim`` one): the outbox finds out whether it landed, or a person
decides in review, and the claim id then answers that (``outbox/claims.py``).
A digital reward's code is answered to the POS and printed on a claim slip of its own
(``receipts/welcome.py``), so it reaches the customer whatever becomes of the sale.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable

from register_agent.config import ReceiptConfig
from register_agent.counter.collectables import collectable_view, collectables_off
from register_agent.counter.customers import BoundCustomer
from register_agent.counter.enrolment.refusals import card_refusal
from register_agent.counter.health import TillHealth
from register_agent.counter.messages import ClaimAnswer, ClaimRequest, Collectables
from register_agent.errors import (
    CounterRefusal,
    CredentialsRejected,
    JournalUnavailable,
    LoyaltyApiError,
    NotApplied,
    OutcomeUnknown,
    RequestRejected,
)
from register_agent.journal import ClaimRecord, ClaimState, Journal, NewOperation
from register_agent.journal.kinds import REVERSE_CLAIM
from register_agent.journal.payloads import ReverseClaimPayload
from register_agent.loyalty.domain import CustomerRef, LoyaltyService
from register_agent.loyalty.orders.collectables import CollectableRewards
from register_agent.receipts.welcome import claim_lines, claim_slip_id, welcome_record

#: the Register API's refusals of a claim, as the POS sees them (code, HTTP status)
CLAIM_REFUSALS: dict[int, tuple[str, int]] = {
    1017: ("insufficient_credits", 409),
    1018: ("reward_out_of_stock", 409),
    1019: ("claim_limit_reached", 409),
    1052: ("reward_inactive", 409),
    6003: ("unknown_reward", 404),
    1013: ("card_unregistered", 409),
    1010: ("card_inactive", 409),
}


class RewardDesk:
    """Claims rewards for the till's customers and reverses them with a voided sale."""

    def __init__(
        self,
        journal: Journal,
        loyalty: LoyaltyService,
        health: TillHealth,
        *,
        clock: Callable[[], float] = time.time,
        wake_outbox: Callable[[], None] = lambda: None,
        receipt: ReceiptConfig | None = None,
        wake_printer: Callable[[], None] = lambda: None,
        collectables: CollectableRewards | None = None,
    ) -> None:
        self._collectables = collectables  # the client API's; None: not configured
        self._journal = journal
        self._loyalty = loyalty
        self._health = health
        self._clock = clock
        self._wake_outbox = wake_outbox
        self._receipt = receipt  # None: no claim slips (a desk without a printer's config)
        self._wake_printer = wake_printer
        # claims the Register API made whose answer the journal could not take (a full
        # disk): the claim id answers them from here until the journal has them
        self._unsaved: dict[str, tuple[ClaimAnswer, str]] = {}

    async def claim(self, request: ClaimRequest, bound: BoundCustomer | None) -> ClaimAnswer:
        digest = hashlib.sha256(
            json.dumps(request.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()
        existing = await self._journal.reward_claim(request.claim_id)
        if existing is not None and request.claim_id in self._unsaved:
            _repeat(existing, digest, made=True)  # another body under the id: a conflict
            return await self._finish(request.claim_id, *self._unsaved[request.claim_id])
        if existing is not None:
            answer = _repeat(existing, digest)
            if answer is not None:
                return answer
        customer = await self.customer_for(request.customer_key, request.customer_card, bound)
        now = self._clock()
        stored = await self._journal.start_claim(
            ClaimRecord(
                request.claim_id,
                digest,
                request.sale_id,
                f"customer:{customer.key}",
                request.reward_key,
                ClaimState.IN_FLIGHT,
                None,
                None,
                now,
                now,
            )
        )
        if (
            stored.state is not ClaimState.IN_FLIGHT
        ):  # another request for this claim id got there first
            raise _not_confirmed()
        return await self._send(request, customer, stored)

    async def _send(
        self, request: ClaimRequest, customer: CustomerRef, stored: ClaimRecord
    ) -> ClaimAnswer:
        try:
            claimed = await self._loyalty.claim_reward(
                customer, request.reward_key, deadline=self._loyalty.counter_deadline()
            )
        except OutcomeUnknown as exc:
            # one lost answer is not "the API is down" (TillHealth judges the run of them)
            self._health.api_result(exc)
            now = self._clock()
            # unknown, with its reward_claim operation: the outbox looks for it at once
            await self._journal.claim_lost(stored, now, look_at=now)
            self._wake_outbox()
            raise _not_confirmed() from exc
        except LoyaltyApiError as exc:
            await self._journal.finish_claim(request.claim_id, ClaimState.REFUSED, self._clock())
            raise self._refusal(exc) from exc
        self._health.api_answered()
        answer = ClaimAnswer(
            claim_id=request.claim_id,
            title=claimed.title,
            credits=claimed.credits,
            balance=claimed.balance,
            external_property=claimed.external_property,
            code=claimed.code,
            slip_id=claim_slip_id(request.claim_id) if claimed.code else None,
            collectable_id=claimed.claim_id if claimed.collectable else None,
        )
        answer = await self._finish(request.claim_id, answer, claimed.claim_id)
        await self._print_code(answer)
        return answer

    async def _print_code(self, answer: ClaimAnswer) -> None:
        """A digital reward's code on a slip of its own: the customer leaves with it even
        when the sale's receipt printed before the claim, or there is no sale."""
        if answer.code is None or answer.slip_id is None or self._receipt is None:
            return
        lines = claim_lines(answer.title, answer.code, self._receipt.language)
        record = welcome_record(answer.slip_id, lines, None, self._receipt.currency, self._clock())
        try:
            _, created = await self._journal.record_sale(record, [], print_receipt=True)
        except JournalUnavailable:
            return  # a full disk: the code is in the POS's answer, the cashier reads it out
        if created:  # the same claim again finds its slip printed (or printing) already
            self._wake_printer()

    async def _finish(self, claim_id: str, answer: ClaimAnswer, server_ref: str) -> ClaimAnswer:
        """Journal the made claim and answer it. The reward was taken: a journal that takes
        no writes now (a full disk) must not turn that into a refusal the cashier would
        believe, so the answer is kept here and written with the claim id's next request
        (should the agent stop first, the claim is ``in_flight`` at the restart and found
        by reconciliation like any claim whose answer was lost)."""
        try:
            await self._journal.finish_claim(
                claim_id,
                ClaimState.DONE,
                self._clock(),
                server_ref=server_ref,
                result=answer.model_dump(mode="json"),
            )
        except JournalUnavailable:
            self._unsaved[claim_id] = (answer, server_ref)
        else:
            self._unsaved.pop(claim_id, None)
        return answer

    async def collectable_rewards(
        self, key: str | None, card: str | None, bound: BoundCustomer | None
    ) -> Collectables:
        """The rewards the customer pre-redeemed, waiting to be handed out with a sale."""
        if self._collectables is None:
            raise collectables_off()
        customer = await self.customer_for(key, card, bound)
        deadline = self._loyalty.counter_deadline()
        try:
            found = await self._collectables.waiting(customer.key, deadline=deadline)
        except LoyaltyApiError as exc:
            raise self._refusal(exc) from exc
        self._health.api_answered()
        return tuple(collectable_view(reward) for reward in found)

    async def customer_for(
        self, key: str | None, card: str | None, bound: BoundCustomer | None
    ) -> CustomerRef:
        """The named customer (card or key), else the till's current one."""
        if key is not None:
            return CustomerRef(key=key)
        if card is not None:
            return await self._identify(card)
        if bound is None:
            raise CounterRefusal(
                "no_customer", "scan the customer's card before claiming a reward", status=409
            )
        if bound.ref is None and bound.card is not None:  # scanned while offline
            return await self._identify(bound.card)
        if bound.ref is None:  # cannot be: a customer bound without a card was found online
            raise CounterRefusal("no_customer", "scan the customer's card first", status=409)
        return bound.ref

    async def _identify(self, card: str) -> CustomerRef:
        try:
            found = await self._loyalty.identify(card, deadline=self._loyalty.counter_deadline())
        except LoyaltyApiError as exc:
            raise self._refusal(exc) from exc
        if found.usable and found.customer is not None:
            return found.customer.ref
        raise card_refusal(found.state, found.reason)  # unregistered: names the hand-out

    def _refusal(self, exc: LoyaltyApiError) -> CounterRefusal:
        if isinstance(exc, NotApplied):
            self._health.api_failed(exc)
            return CounterRefusal(
                "offline",
                "the loyalty service cannot be reached: rewards can only be claimed online; "
                "try again in a moment",
                status=503,
            )
        if isinstance(exc, CredentialsRejected):
            self._health.api_failed(exc)
            return CounterRefusal.key_refused()
        code, status = CLAIM_REFUSALS.get(exc.code or 0, ("claim_refused", 409))
        if isinstance(exc, RequestRejected) and exc.status == 404 and exc.code is None:
            code, status = "claim_refused", 409
        return CounterRefusal(code, str(exc), status=status)

    async def reverse_claims_of_sale(self, sale_id: str) -> int:
        """Queue a reversal of every confirmed claim of a voided sale (v3); how many."""
        claims = [
            c for c in await self._journal.claims_of_sale(sale_id) if c.state is ClaimState.DONE
        ]
        if not claims or not self._loyalty.can_reverse:
            return 0
        operations = [
            NewOperation(
                id=uuid.uuid4().hex,
                kind=REVERSE_CLAIM,
                customer_key=claim.customer_key,
                payload=ReverseClaimPayload(
                    claim_id=claim.claim_id, server_claim_id=claim.server_ref
                ),
            )
            for claim in claims
        ]
        await self._journal.add_operations(sale_id, operations, self._clock())
        for claim in claims:
            await self._journal.finish_claim(claim.claim_id, ClaimState.REVERSED, self._clock())
        return len(operations)


def _repeat(existing: ClaimRecord, digest: str, *, made: bool = False) -> ClaimAnswer | None:
    """The first answer to a claim id again; None: it was refused, so try again. ``made``:
    the claim was made, only the journal lacks its answer (checked for a conflict only)."""
    if existing.request_digest != digest:
        raise CounterRefusal(
            "claim_conflict",
            f"claim {existing.claim_id} was already made with other details; use a new claim id",
            status=409,
        )
    if made:
        return None
    if existing.state in (ClaimState.DONE, ClaimState.REVERSED) and existing.result is not None:
        return ClaimAnswer.model_validate(existing.result)
    if existing.state is ClaimState.REFUSED:
        return None
    raise _not_confirmed()


def _not_confirmed() -> CounterRefusal:
    return CounterRefusal(
        "claim_not_confirmed",
        "this reward claim was not confirmed: the till is checking with the loyalty service "
        "whether it was made; send the same claim again in a moment for the outcome (if it "
        "stays unconfirmed, a manager settles it with register-agent review)",
        status=409,
    )
