"""``register-agent export`` while giftcard payments are unsettled, on real journal files: it
refuses and moves nothing until a person decided them, so none is lost with the old till."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from register_agent.commands.review import giftcards_in_review, resolve_giftcard
from register_agent.commands.transfer import export_operations
from register_agent.errors import JournalError
from register_agent.journal import GiftcardPayment, GiftcardState, OperationState
from tests.commands.test_ops_units import till_with_sale

NOW = 1_700_000_000.0


def giftcard_in(state: Path, payment_id: str, target: str) -> None:
    """A payment written in flight by the desk, then moved to ``target`` (if not in flight)."""
    journal = till_with_sale(state)
    row = GiftcardPayment(
        payment_id, "digest", "payment", "S1", "9B21", "41650", -300, 2500, None,
        GiftcardState.IN_FLIGHT, None, None, None, NOW, NOW,
    )  # fmt: skip
    try:
        asyncio.run(journal.start_giftcard_payment(row))
        if target != "in_flight":
            assert asyncio.run(
                journal.move_giftcard_payment(
                    payment_id, GiftcardState.IN_FLIGHT, GiftcardState(target), NOW
                )
            )
        operation = asyncio.run(journal.operation("op-S1"))
    finally:
        journal.close()
    assert operation is not None
    assert operation.state is OperationState.PENDING


def operation_state(state: Path) -> str:
    with sqlite3.connect(state / "journal.sqlite3") as db:
        return str(db.execute("SELECT state FROM operations WHERE id = 'op-S1'").fetchone()[0])


def test_export_refuses_while_a_giftcard_payment_waits_for_review(tmp_path: Path) -> None:
    giftcard_in(tmp_path, "P-1", "review")
    target = tmp_path / "move.json"
    with pytest.raises(JournalError, match=r"1 giftcard payments .* register-agent review"):
        export_operations(tmp_path, target, by="tester")
    assert not target.exists()
    assert operation_state(tmp_path) == "pending"  # still this till's to deliver

    resolve_giftcard(tmp_path, "P-1", "not_applied", by="tester")
    moved = export_operations(tmp_path, target, by="tester")
    assert (moved.operations, target.exists()) == (1, True)
    assert operation_state(tmp_path) == "exported"


def test_a_payment_being_sent_holds_the_export_until_the_agent_is_known_stopped(
    tmp_path: Path,
) -> None:
    giftcard_in(tmp_path, "P-2", "in_flight")
    with pytest.raises(JournalError, match="being sent: export again in a moment"):
        export_operations(tmp_path, tmp_path / "move.json", by="tester")
    assert giftcards_in_review(tmp_path) == []
    # stopped: what it was sending may have landed; it waits for a person, who is told so
    with pytest.raises(JournalError, match="register-agent review"):
        export_operations(tmp_path, tmp_path / "move.json", by="tester", agent_stopped=True)
    assert [row.state for row in giftcards_in_review(tmp_path)] == ["unknown"]
    assert not (tmp_path / "move.json").exists()
    assert operation_state(tmp_path) == "pending"
