"""What an operation handler is to the outbox worker: it sends one kind of operation, says
what the server answered (``Delivered``) or whether an earlier attempt landed
(``Reconciled``), and saves its steps through ``Progress``.

A handler reads its operation's payload as its kind's model (``payload_of``, with the
amounts and customers in it read by ``amount_of`` and ``customer_ref``); what it answers
is that kind's result model. A new kind of operation is one payload model, one result
model (``journal.payloads``, ``journal.results``) and one handler.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, TypeVar, runtime_checkable

from pydantic import ValidationError

from register_agent.common.masking import mask
from register_agent.common.money import NotAnAmount, parse_amount
from register_agent.errors import LoyaltyApiError, NotApplied, OutcomeUnknown, RequestRejected
from register_agent.journal import Operation
from register_agent.journal.payloads import Payload, StoredCustomer, problems
from register_agent.journal.results import CreditReceptionResult, Result
from register_agent.loyalty import CreditAward, CustomerRef, LoyaltyService

CRASH_ENV = "REGISTER_AGENT_CRASH_AT"

P = TypeVar("P", bound=Payload)


def crash_point(name: str) -> None:
    """Die here, at once and without cleanup, when a test named this point (kill -9 alike)."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)


@dataclass(frozen=True)
class Delivered:
    """What the server answered for an operation that took effect."""

    server_ref: str | None
    result: Result = field(default_factory=Result)


class Reconciled(StrEnum):
    NOT_APPLIED = "not_applied"  # safe to send again
    UNRESOLVABLE = "unresolvable"  # nothing can tell: a person decides (review)
    NOT_YET = "not_yet"  # nothing found, but it may still land: look again later


class Progress(Protocol):
    """Lets a handler make intermediate results durable before its next request."""

    async def save(self, payload: Payload) -> None:
        """Store ``payload`` (the operation's, with a step's result) in the journal."""


@runtime_checkable
class Prepares(Protocol):
    """A handler with steps that can apply nothing (a read, a POS transaction that awards
    nothing unlinked): the worker runs them while the operation is still ``pending`` and
    saves their result with its move to ``in_flight``, one commit instead of one per step."""

    async def prepare(self, operation: Operation) -> Payload | None:
        """The payload with those steps' results; None when none was needed. Raises
        ``NotPrepared`` with what the steps before the failing one found."""


class NotPrepared(Exception):
    """A step of ``prepare`` failed (``cause``); ``payload`` keeps the results of the steps
    before it (a resolved customer), saved with the move back to ``pending`` so the next
    attempt does not ask again; None when there were none."""

    def __init__(self, cause: LoyaltyApiError, payload: Payload | None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.payload = payload


class OperationHandler(Protocol):
    """How one kind of operation is sent, and how an unknown outcome is cleared up."""

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        """Send the operation; raise a LoyaltyApiError subclass for every failure."""

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        """Find out whether an earlier attempt landed (GETs only: never re-sends)."""


def refused(message: str) -> RequestRejected:
    """Refused by the till itself, nothing sent (status 0): the operation is dead, never
    retried (it would fail the same way on every attempt), and the operator sees why."""
    return RequestRejected(message, status=0)


def payload_of(operation: Operation, model: type[P]) -> P:
    """The operation's payload as ``model``; one that does not fit is refused, before any
    request (so a reconciliation knows such an operation sent nothing)."""
    if isinstance(operation.payload, model):
        return operation.payload
    try:
        return model.model_validate(operation.payload.to_json())
    except ValidationError as exc:
        raise refused(
            f"the {operation.kind} operation's payload is malformed ({problems(exc)}); "
            "nothing can be sent"
        ) from exc


def fitting_payload(operation: Operation, model: type[P]) -> P | None:
    """The operation's payload as ``model``, or None when it does not fit (for a
    reconciliation: ``payload_of`` refused it before anything was sent)."""
    try:
        return payload_of(operation, model)
    except RequestRejected:
        return None


def amount_of(value: object) -> Decimal:
    """An amount of a payload; a malformed one is refused."""
    try:
        return parse_amount(value)
    except NotAnAmount as exc:
        raise refused(f"the amount {exc}") from exc


def customer_ref(customer: StoredCustomer | None) -> CustomerRef | None:
    """The payload's customer as the Register API names them; None while unresolved."""
    if customer is None or not customer.key:
        return None
    return CustomerRef(key=customer.key, card=customer.card)


def stored_customer(customer: CustomerRef) -> StoredCustomer:
    return StoredCustomer(key=customer.key, card=customer.card)


def award_result(award: CreditAward, customer: CustomerRef) -> CreditReceptionResult:
    return CreditReceptionResult(
        reception_id=award.reception_id,
        credits=award.credits,
        balance=award.balance,
        customer=stored_customer(customer),
    )


async def resolve_card(loyalty: LoyaltyService, card: str | None) -> CustomerRef:
    """The customer behind a card scanned while offline (v3 credits a contact, not a card)."""
    if not card:
        raise refused("the sale names neither a customer nor a card; there is nobody to credit")
    try:
        found = await loyalty.identify(card, with_balance=False)
    except OutcomeUnknown as exc:
        # a look-up changes nothing on the server: whatever went wrong, nothing applied,
        # so the operation stays pending (never unknown, never dead) until the API is back
        raise NotApplied(
            f"card {mask(card)} could not be looked up yet: {exc}", status=exc.status
        ) from exc
    if not found.usable or found.customer is None:
        # an unknown, unregistered or inactive card: final, shown to the operator
        raise refused(
            f"card {mask(card)} cannot be credited: {found.reason}; the sale's credits "
            "can be given by hand in the Business Dashboard"
        )
    return found.customer.ref
