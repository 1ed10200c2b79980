"""``register-agent review``: the operations whose outcome nothing could tell (state
``review``), listed for a person who checks the customer in the Piggy dashboard and then
marks each one applied or sends it again; the decision is kept in the journal.

It works while the agent runs: the decision is one short ``BEGIN IMMEDIATE`` transaction
of its own, and the running outbox looks for due operations every half second, so an
operation sent again leaves within a second without any signal to the agent.
"""

from __future__ import annotations

import getpass
import os
import time
from pathlib import Path

from register_agent.errors import JournalError
from register_agent.journal import Operation, OperationState
from register_agent.journal.admin import (
    journal_path,
    move_by_hand,
    read_only,
    record_decision,
    write_transaction,
)
from register_agent.journal.queries import operations_in

APPLIED = "applied"
RESEND = "resend"
_TARGETS = {APPLIED: OperationState.DONE, RESEND: OperationState.PENDING}


def operations_in_review(state_directory: Path) -> list[Operation]:
    with read_only(journal_path(state_directory)) as db:
        return operations_in(db, OperationState.REVIEW)


def resolve(
    state_directory: Path, operation_id: str, decision: str, *, by: str | None = None
) -> Operation:
    """Move one operation out of review (applied: done; resend: pending, due now)."""
    who = by or who_decides()
    now = time.time()
    with write_transaction(journal_path(state_directory)) as db:
        try:
            moved = move_by_hand(
                db, operation_id, OperationState.REVIEW, _TARGETS[decision], now=now
            )
        except JournalError as exc:
            raise JournalError(
                f"operation {operation_id} is not waiting for review ({exc}); "
                "run register-agent review to see the ones that are"
            ) from exc
        record_decision(db, operation_id, decision, by=who, now=now)
    return moved


def who_decides() -> str:
    """The person at the keyboard, also when they ran the command through sudo."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def describe(operation: Operation) -> str:
    """One operation for the person reviewing it; the card value masked, no secrets."""
    payload = operation.payload
    amount = payload.get("amount", "?")
    attempts = f"{operation.attempts} attempt{'s' if operation.attempts != 1 else ''}"
    return (
        f"{operation.id}  {operation.kind}  sale {operation.sale_id or '-'}  "
        f"customer {mask_customer(operation)}  amount {amount}  {attempts}\n"
        f"    last error: {operation.last_error or '-'}"
    )


def mask_customer(operation: Operation) -> str:
    """The customer as a person can find them in the dashboard, never a full card value."""
    # till.customer_key: "customer:<key>" once resolved, "card:<value>" for an offline scan;
    # the payload's "customer" is filled in once the outbox resolved the card
    ordering = operation.customer_key or ""
    resolved = operation.payload.get("customer")
    resolved = resolved if isinstance(resolved, dict) else {}
    key = resolved.get("key") or ordering.partition("customer:")[2]
    card = operation.payload.get("card") or ordering.partition("card:")[2] or resolved.get("card")
    parts = []
    if key:
        parts.append(_mask(str(key)))
    if card:
        parts.append(f"card {_mask(str(card))}")
    return ", ".join(parts) or "none"


def _mask(value: str) -> str:
    # the last four characters at most (design.md: card values are never shown in full)
    return f"...{value[-4:]}" if len(value) > 4 else "..."


def review_command(state_directory: Path, applied: str | None, resend: str | None) -> int:
    """The CLI's body: resolve one operation, or list the ones waiting; the exit status."""
    for operation_id, decision in ((applied, APPLIED), (resend, RESEND)):
        if operation_id:
            moved = resolve(state_directory, operation_id, decision)
            print(f"operation {moved.id}: {decision} by {who_decides()}; now {moved.state}")
            return 0
    waiting = operations_in_review(state_directory)
    if not waiting:
        print("no operations wait for review")
        return 0
    print(f"{len(waiting)} operations wait for review. Look the customer up in the Piggy")
    print("dashboard, then: register-agent review --applied OP_ID  (the credits are there)")
    print("                 register-agent review --resend OP_ID   (they are not: send again)")
    for operation in waiting:
        print(describe(operation))
    return 0
