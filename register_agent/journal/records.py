"""The journal's rows as the till sees them: sales, outbox operations and print jobs.
An operation's payload and result are the typed models of its kind (``payloads``,
``results``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypedDict, TypeVar

from register_agent.journal.payloads import Payload, read_payload
from register_agent.journal.results import Result, read_result

R = TypeVar("R", bound=Result)


def dumps(value: Any) -> str:
    """JSON for the journal's text columns: compact and stable (sorted keys)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class OperationState(StrEnum):
    """Where an operation stands; ``TRANSITIONS`` below is the authority on moves (why each
    exists: docs/architecture.md, "Exactly once")."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    UNKNOWN = "unknown"
    DONE = "done"
    REVIEW = "review"
    DEAD = "dead"
    #: moved to another till (register-agent export): the outbox never sends it; only an
    #: import from that till brings it back
    EXPORTED = "exported"


#: every move an operation may make; anything else is a bug and is refused
TRANSITIONS: dict[OperationState, frozenset[OperationState]] = {
    OperationState.PENDING: frozenset(
        {
            OperationState.IN_FLIGHT,
            # tried, but only what applies nothing was sent (a look-up, an unlinked POS
            # transaction): an attempt counted, its error and the next try kept
            OperationState.PENDING,
            OperationState.DEAD,
            OperationState.EXPORTED,
        }
    ),
    OperationState.IN_FLIGHT: frozenset(
        {
            OperationState.IN_FLIGHT,  # a step's result saved (a POS transaction's uuid)
            OperationState.PENDING,  # definitely not applied
            OperationState.UNKNOWN,  # may have applied
            OperationState.DONE,
            OperationState.DEAD,
        }
    ),
    OperationState.UNKNOWN: frozenset(
        {
            OperationState.UNKNOWN,  # reconciliation could not tell yet: look again later
            OperationState.DONE,
            OperationState.PENDING,
            OperationState.REVIEW,
            OperationState.DEAD,
            OperationState.EXPORTED,  # still unknown on the new till, reconciled there
        }
    ),
    # a person decides (register-agent review): applied after all, or send again
    OperationState.REVIEW: frozenset(
        {OperationState.DONE, OperationState.PENDING, OperationState.EXPORTED}
    ),
    OperationState.DONE: frozenset(),
    OperationState.DEAD: frozenset(),
    # register-agent import: back from the till it was exported to (which exported it in
    # turn, so sends it no more), in the state that till's file gives
    OperationState.EXPORTED: frozenset(
        {OperationState.PENDING, OperationState.UNKNOWN, OperationState.REVIEW}
    ),
}

#: states that keep later operations of the same customer waiting
ACTIVE_STATES = (OperationState.PENDING, OperationState.IN_FLIGHT, OperationState.UNKNOWN)


class PrintJobState(StrEnum):
    PENDING = "pending"
    PRINTED = "printed"
    HELD = "held"  # too old to print by itself: waits for an explicit reprint


@dataclass(frozen=True)
class SaleRecord:
    sale_id: str
    request_digest: str
    amount_cents: int
    currency: str
    customer_key: str | None
    answer: dict[str, Any]
    state: str
    created_at: float
    #: the POS's request as it came (the receipt lines live here)
    request: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> SaleRecord:
        return cls(
            sale_id=row["sale_id"],
            request_digest=row["request_digest"],
            amount_cents=row["amount_cents"],
            currency=row["currency"],
            customer_key=row["customer_key"],
            answer=json.loads(row["answer"]),
            state=row["state"],
            created_at=row["created_at"],
            request=json.loads(row["request"]),
        )


@dataclass(frozen=True)
class NewOperation:
    """An operation as the till asks for it; the id is made by the agent before any attempt."""

    id: str
    kind: str  # one of ``kinds``; ``payload`` is that kind's model (``payloads.PAYLOADS``)
    customer_key: str | None
    payload: Payload


@dataclass(frozen=True)
class Operation:
    seq: int
    id: str
    sale_id: str | None
    kind: str
    customer_key: str | None
    payload: Payload
    state: OperationState
    attempts: int
    next_attempt_at: float
    last_error: str | None
    server_ref: str | None
    result: Result | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Operation:
        return cls(
            seq=row["seq"],
            id=row["id"],
            sale_id=row["sale_id"],
            kind=row["kind"],
            customer_key=row["customer_key"],
            payload=read_payload(row["kind"], row["payload"]),
            state=OperationState(row["state"]),
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            last_error=row["last_error"],
            server_ref=row["server_ref"],
            result=read_result(row["kind"], row["result"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def result_as(self, model: type[R]) -> R | None:
        """The result as ``model``; None without one (not done yet, or marked applied by a
        person) or when it is another kind's."""
        return self.result if isinstance(self.result, model) else None


class OperationChanges(TypedDict, total=False):
    """What a move of an operation may change besides its state."""

    next_attempt_at: float
    last_error: str | None
    server_ref: str | None
    result: Result | None
    payload: Payload  # a step's result saved (the handler's updated payload)


@dataclass(frozen=True)
class PrintJob:
    id: int
    sale_id: str
    copy: int
    state: PrintJobState
    attempts: int
    last_error: str | None
    created_at: float
    printed_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> PrintJob:
        return cls(
            id=row["id"],
            sale_id=row["sale_id"],
            copy=row["copy"],
            state=PrintJobState(row["state"]),
            attempts=row["attempts"],
            last_error=row["last_error"],
            created_at=row["created_at"],
            printed_at=row["printed_at"],
        )


@dataclass(frozen=True)
class OutboxSummary:
    """What ``status`` shows of the outbox, and what the store-and-forward caps watch."""

    pending: int
    in_flight: int
    unknown: int
    review: int
    dead: int
    oldest_pending_age_s: float | None
