"""``register-agent review``: the operations whose outcome nothing could tell (state
``review``), listed for a person who checks the customer in the Piggy dashboard and then
marks each one applied or sends it again; the decision is kept in the journal. Giftcard
payments, top-ups and corrections nothing could settle are listed and decided here too.

It works while the agent runs: the decision is one short ``BEGIN IMMEDIATE`` transaction
of its own, and the running outbox looks for due operations every half second, so an
operation sent again leaves within a second without any signal to the agent. The giftcard
desk reads a payment's row at each request of the POS, so it answers by the decision at
once as well.
"""

from __future__ import annotations

import getpass
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from register_agent.commands.review_claims import HOW_TO_DECIDE, describe_claim
from register_agent.common.masking import safe_tail
from register_agent.common.money import to_euros
from register_agent.counter.giftcards.messages import GiftcardPaymentAnswer
from register_agent.errors import JournalError
from register_agent.journal import GiftcardPayment, GiftcardState, Operation, OperationState
from register_agent.journal import giftcards as giftcard_rows
from register_agent.journal.admin import (
    journal_path,
    move_by_hand,
    read_only,
    record_decision,
    write_transaction,
)
from register_agent.journal.giftcards import GiftcardChanges
from register_agent.journal.payloads import (
    CreditReceptionPayload,
    Payload,
    RefundPayload,
    RewardClaimPayload,
    StagedCreditPayload,
)
from register_agent.journal.queries import operations_in

APPLIED = "applied"
RESEND = "resend"
NOT_APPLIED = "not_applied"  # giftcards: the POS may send the same payment id again
_TARGETS = {APPLIED: OperationState.DONE, RESEND: OperationState.PENDING}
#: (decision, what was in doubt) -> the giftcard payment's state. Not applied: a payment
#: or top-up becomes ``refused`` (nothing moved), the one state in which the desk takes
#: the same payment id again and sends it for real; a correction falls back to ``done``,
#: from which the POS can ask for the correction again.
_GIFTCARD_TARGETS = {
    (APPLIED, "payment"): GiftcardState.DONE,
    (APPLIED, "top_up"): GiftcardState.DONE,
    (APPLIED, "correction"): GiftcardState.CORRECTED,
    (NOT_APPLIED, "payment"): GiftcardState.REFUSED,
    (NOT_APPLIED, "top_up"): GiftcardState.REFUSED,
    (NOT_APPLIED, "correction"): GiftcardState.DONE,
}


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


def giftcards_in_review(state_directory: Path) -> list[GiftcardPayment]:
    with read_only(journal_path(state_directory)) as db:
        return giftcard_rows.waiting(db)


def resolve_giftcard(
    state_directory: Path,
    payment_id: str,
    decision: str,
    *,
    balance_cents: int | None = None,
    by: str | None = None,
) -> GiftcardPayment:
    """Settle one giftcard payment, top-up or correction by a person's decision (applied:
    the money moved, ``balance_cents`` the card's balance they saw after it; not applied:
    it did not); the row as it is now."""
    who = by or who_decides()
    now = time.time()
    with write_transaction(journal_path(state_directory)) as db:
        # BEGIN IMMEDIATE holds the agent's writer off: the row cannot move meanwhile
        row = giftcard_rows.payment(db, payment_id)
        if row is None or row.state not in giftcard_rows.WAITING:
            found = "no such payment on this till" if row is None else f"it is {row.state}"
            raise JournalError(
                f"giftcard payment {payment_id} is not waiting for review ({found}); "
                "run register-agent review to see the ones that are"
            )
        doubt = giftcard_rows.in_doubt(row)
        target = _GIFTCARD_TARGETS[decision, doubt]
        changes = _giftcard_changes(row, target, balance_cents)
        giftcard_rows.move(db, payment_id, (row.state, target), now, changes)
        giftcard_rows.record_decision(
            db,
            payment_id,
            decision,
            by=who,
            now=now,
            balance_cents=balance_cents,
            note=f"{doubt}: {row.state} -> {target}",
        )
        moved = giftcard_rows.payment(db, payment_id)
    assert moved is not None
    return moved


def _giftcard_changes(
    row: GiftcardPayment, target: GiftcardState, balance_cents: int | None
) -> GiftcardChanges:
    """What the row keeps so the POS's repeat and a reprint of the receipt say the same."""
    if target is GiftcardState.CORRECTED:
        # without a balance: the one after the payment less what it moved, as a confirmed
        # correction answers (giftcard_corrections: it was the card's last transaction)
        if balance_cents is None and row.balance_after is not None:
            balance_cents = row.balance_after - row.amount_cents
        return {"result": _answer(row, GiftcardState.CORRECTED, balance_cents)}
    # a payment's answer is made here; a correction's keeps its own
    if target is GiftcardState.DONE and row.result is None:
        # the receipt's "left on the giftcard" is balance_after; None: the line is left out
        return {
            "balance_after": balance_cents,
            "result": _answer(row, GiftcardState.DONE, balance_cents),
        }
    return {}  # refused, or back to done after a correction that did not land


def _answer(
    row: GiftcardPayment, state: GiftcardState, balance_cents: int | None
) -> dict[str, Any]:
    answer = GiftcardPaymentAnswer.of(
        row,
        corrected=state is GiftcardState.CORRECTED,
        balance_cents=balance_cents,
        transaction_id=None,  # its answer was lost: the API's id was never seen
    )
    return answer.model_dump(mode="json")


def who_decides() -> str:
    """The person at the keyboard, also when they ran the command through sudo."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def describe(operation: Operation) -> str:
    """One operation for the person reviewing it; the card value masked, no secrets."""
    if isinstance(operation.payload, RewardClaimPayload):
        return describe_claim(operation, operation.payload)
    amount = _amount(operation.payload)
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
    credit = operation.payload if isinstance(operation.payload, CreditReceptionPayload) else None
    resolved = credit.customer if credit else None
    key = (resolved.key if resolved else None) or ordering.partition("customer:")[2]
    scanned = credit.card if credit else None
    card = scanned or ordering.partition("card:")[2] or (resolved.card if resolved else None)
    parts = []
    if key:
        parts.append(_mask(key))
    if card:
        parts.append(f"card {_mask(card)}")
    return ", ".join(parts) or "none"


def _mask(value: str) -> str:
    # the last four characters at most: card values are never shown in full
    return f"...{safe_tail(value)}" if len(value) > 4 else "..."


def _amount(payload: Payload) -> str:
    """The money the operation is about, as the POS sent it; "?" for a kind without."""
    if isinstance(payload, CreditReceptionPayload | StagedCreditPayload | RefundPayload):
        return str(payload.amount)
    return "?"


def describe_giftcard(row: GiftcardPayment) -> str:
    """One giftcard payment for the person checking it: the card's last 4 only."""
    doubt = giftcard_rows.in_doubt(row)
    amount = to_euros(abs(row.amount_cents))
    # a correction was sent when the row last moved; a payment or top-up when it was made
    when = _time(row.updated_at if doubt == "correction" else row.created_at)
    sign = "+" if (row.amount_cents > 0) != (doubt == "correction") else "-"
    kind = "top-up" if row.kind == "top_up" else "payment"
    what = kind if doubt != "correction" else f"correction of a {kind}"
    lines = [
        f"{row.payment_id}  {what}  {amount}  card ...{row.card_tail}  "
        f"sale {row.sale_id or '-'}  {when}  ({row.state})",
        f"    balance before {_money(row.balance_before)}, after {_money(row.balance_after)}",
        f"    check: the card ending {row.card_tail} in the dashboard: a transaction "
        f"of {sign}{amount} at about {when}?",
    ]
    if row.state in (GiftcardState.UNKNOWN, GiftcardState.CORRECT_UNKNOWN):
        lines.append(
            "    (the POS sending it again settles it by itself: decide only if it will not)"
        )
    return "\n".join(lines)


def _money(cents: int | None) -> str:
    return "unknown" if cents is None else str(to_euros(cents))


def _time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def review_command(
    state_directory: Path,
    applied: str | None,
    resend: str | None,
    *,
    giftcard_applied: str | None = None,
    giftcard_not_applied: str | None = None,
    balance_cents: int | None = None,
) -> int:
    """The CLI's body: resolve one operation or giftcard payment, or list the ones
    waiting; the exit status."""
    for operation_id, decision in ((applied, APPLIED), (resend, RESEND)):
        if operation_id:
            moved = resolve(state_directory, operation_id, decision)
            print(f"operation {moved.id}: {decision} by {who_decides()}; now {moved.state}")
            return 0
    for payment_id, decision in ((giftcard_applied, APPLIED), (giftcard_not_applied, NOT_APPLIED)):
        if payment_id:
            row = resolve_giftcard(
                state_directory, payment_id, decision, balance_cents=balance_cents
            )
            print(
                f"giftcard payment {row.payment_id}: {decision} by {who_decides()}; now {row.state}"
            )
            return 0
    _list_operations(state_directory)
    _list_giftcards(state_directory)
    return 0


def _list_operations(state_directory: Path) -> None:
    waiting = operations_in_review(state_directory)
    if not waiting:
        print("no operations wait for review")
        return
    print(f"{len(waiting)} operations wait for review. Look the customer up in the Piggy")
    print("dashboard, then: register-agent review --applied OP_ID  (the credits are there)")
    print("                 register-agent review --resend OP_ID   (they are not: send again)")
    print(HOW_TO_DECIDE)
    for operation in waiting:
        print(describe(operation))


def _list_giftcards(state_directory: Path) -> None:
    waiting = giftcards_in_review(state_directory)
    if not waiting:
        print("no giftcard payments wait for review")
        return
    print(f"{len(waiting)} giftcard payments wait for review. Look the card up in the Piggy")
    print("dashboard, then: register-agent review --giftcard-applied PAYMENT_ID [--balance 12.50]")
    print("                   (the transaction is there; --balance: the card's balance after it)")
    print("                 register-agent review --giftcard-not-applied PAYMENT_ID")
    print("                   (it is not: the POS may send the same payment id again)")
    for row in waiting:
        print(describe_giftcard(row))
