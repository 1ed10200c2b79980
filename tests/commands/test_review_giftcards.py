"""``register-agent review`` for giftcard payments nothing could settle, on a real journal
file beside a running desk (its own connection, as the CLI beside the agent): the listing,
a person's decision, and what the desk, the receipt, the status and the metrics say then."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from register_agent.cli import main
from register_agent.commands.review import (
    describe_giftcard,
    giftcards_in_review,
    resolve_giftcard,
    review_command,
)
from register_agent.config import OutboxConfig
from register_agent.counter.giftcards.desk import GiftcardDesk
from register_agent.counter.health import TillHealth
from register_agent.errors import CounterRefusal, JournalError, OutcomeUnknown, RequestRejected
from register_agent.journal import GiftcardPayment, GiftcardState, Journal
from register_agent.loyalty.giftcards import Giftcard
from register_agent.loyalty.retries import Deadline
from register_agent.receipts.giftcards import giftcard_lines
from register_agent.runtime.metrics import AgentMetrics, Sources
from tests.counter.test_giftcard_desk import CARD, ScriptedCards, desk_for, payment

pytestmark = pytest.mark.anyio
ALERT = "giftcard payments are not confirmed"


async def in_review(desk: GiftcardDesk, cards: ScriptedCards, payment_id: str) -> None:
    """A payment whose answer was lost (it did not land), then the card used elsewhere."""
    cards.fail, cards.lands = [OutcomeUnknown("reset")], False
    with pytest.raises(CounterRefusal):
        await desk.pay(payment(payment_id, "3.00"))
    cards.balance -= 100  # another till took 1.00 meanwhile: the balance tells nothing
    with pytest.raises(CounterRefusal) as refused:
        await desk.pay(payment(payment_id, "3.00"))
    assert refused.value.code == "giftcard_check_card"


async def alerts(journal: Journal) -> tuple[str, ...]:
    return (await TillHealth(journal, OutboxConfig()).status()).alerts


def decisions(state: Path) -> list[tuple[str, str, int | None, str, str]]:
    with sqlite3.connect(state / "journal.sqlite3") as db:
        return db.execute(
            "SELECT payment_id, decision, balance_cents, decided_by, note FROM giftcard_decisions"
        ).fetchall()


async def test_applied_the_pos_repeat_and_the_receipt_say_the_balance_seen(
    journal: Journal, tmp_path: Path
) -> None:
    cards = ScriptedCards(2500)
    desk = desk_for(journal, cards)
    await in_review(desk, cards, "P-1")
    assert any(ALERT in alert for alert in await alerts(journal))

    moved = resolve_giftcard(tmp_path, "P-1", "applied", balance_cents=2100, by="anna")
    assert (moved.state, moved.balance_after) == ("done", 2100)
    answer = await desk.pay(payment("P-1", "3.00"))  # the POS asks again: nothing is sent
    assert (answer.state, answer.balance, answer.transaction_id) == ("done", Decimal("21.00"), None)
    assert cards.sent == []
    row = await journal.giftcard_payment("P-1")
    assert row is not None
    lines = giftcard_lines([row], "en", "EUR")  # what a reprint of its sale shows
    assert lines == ("Paid with giftcard ****9B21: €3.00", "Left on the giftcard: €21.00")
    assert not any(ALERT in alert for alert in await alerts(journal))
    assert decisions(tmp_path) == [("P-1", "applied", 2100, "anna", "payment: review -> done")]


async def test_not_applied_the_same_id_is_sent_for_real_once_and_nothing_more(
    journal: Journal, tmp_path: Path
) -> None:
    cards = ScriptedCards(2500)
    desk = desk_for(journal, cards)
    await in_review(desk, cards, "P-2")
    moved = resolve_giftcard(tmp_path, "P-2", "not_applied", by="anna")
    assert moved.state == "refused"

    answer = await desk.pay(payment("P-2", "3.00"))
    assert (answer.state, answer.balance) == ("done", Decimal("21.00"))
    assert cards.sent == [-300]
    assert await desk.pay(payment("P-2", "3.00")) == answer  # and once only
    with pytest.raises(CounterRefusal) as other:  # the same id for another amount
        await desk.pay(payment("P-2", "4.00"))
    assert other.value.code == "giftcard_conflict"
    assert cards.sent == [-300]
    with pytest.raises(JournalError, match="not waiting for review"):  # decided once
        resolve_giftcard(tmp_path, "P-2", "applied", by="anna")


async def test_a_correction_in_review_decided_both_ways(journal: Journal, tmp_path: Path) -> None:
    cards = ScriptedCards(2500)
    desk = desk_for(journal, cards)
    for payment_id in ("C-1", "C-2"):
        await desk.pay(payment(payment_id, "5.00"))
        cards.fail, cards.lands = [OutcomeUnknown("reset")], False
        with pytest.raises(CounterRefusal):
            await desk.correct(payment_id)
        cards.fail = [RequestRejected("not the last", code=55025)]
        with pytest.raises(CounterRefusal):
            await desk.correct(payment_id)
    sent = list(cards.sent)
    shown = [describe_giftcard(row) for row in giftcards_in_review(tmp_path)]
    assert shown[0].startswith("C-1  correction of a payment  5.00  card ...9B21")
    assert "a transaction of +5.00" in shown[0]  # the money back onto the card

    # C-1: the dashboard shows the correction: corrected, the balance after the payment + 5
    assert resolve_giftcard(tmp_path, "C-1", "applied", by="anna").state == "corrected"
    corrected = await desk.correct("C-1")
    assert (corrected.state, corrected.balance) == ("corrected", Decimal("25.00"))
    # C-2: it shows none: the payment stands, and the POS may ask for the correction again
    assert resolve_giftcard(tmp_path, "C-2", "not_applied", by="anna").state == "done"
    assert cards.sent == sent
    again = await desk.correct("C-2")
    assert again.state == "corrected"
    assert cards.sent == [*sent, 500]
    notes = [row[4] for row in decisions(tmp_path)]
    assert notes == ["correction: review -> corrected", "correction: review -> done"]


async def test_the_listing_shows_the_card_s_last_4_and_what_to_check(
    journal: Journal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cards = ScriptedCards(2500)
    await in_review(desk_for(journal, cards), cards, "P-3")
    assert review_command(tmp_path, None, None) == 0
    shown = capsys.readouterr().out
    assert "no operations wait for review" in shown
    assert "1 giftcard payments wait for review" in shown
    assert "P-3  payment  3.00  card ...9B21" in shown
    assert "balance before 25.00, after unknown" in shown
    assert "a transaction of -3.00" in shown
    assert "--giftcard-not-applied PAYMENT_ID" in shown
    assert CARD not in shown
    assert review_command(tmp_path, None, None, giftcard_not_applied="P-3") == 0
    assert "P-3: not_applied by" in capsys.readouterr().out
    review_command(tmp_path, None, None)
    assert "no giftcard payments wait for review" in capsys.readouterr().out


async def test_the_metric_counts_the_payment_until_it_is_decided(
    journal: Journal, tmp_path: Path
) -> None:
    cards = ScriptedCards(2500)
    await in_review(desk_for(journal, cards), cards, "P-4")
    metrics = AgentMetrics(
        Sources(tmp_path / "journal.sqlite3", lambda: "reachable", lambda: None, list, 0.0)
    )
    series = "register_agent_giftcard_payments_to_check "
    assert f"{series}1.0" in generate_latest(metrics.registry).decode()
    resolve_giftcard(tmp_path, "P-4", "applied", by="anna")
    assert f"{series}0.0" in generate_latest(metrics.registry).decode()


def test_a_balance_goes_with_giftcard_applied_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--giftcard-not-applied", "P-1", "--balance", "1.00"]) == 2
    assert "--balance goes with --giftcard-applied" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["review", "--giftcard-applied", "P-1", "--balance", "1.005"])
    with pytest.raises(SystemExit):  # one decision at a time
        main(["review", "--giftcard-applied", "P-1", "--resend", "op-1"])


async def test_a_payment_in_flight_at_a_stop_waits_for_review_after_the_restart(
    journal: Journal, tmp_path: Path
) -> None:
    cards = ScriptedCards(2500)
    desk = desk_for(journal, cards)
    await desk.pay(payment("P-5", "2.00"))
    # stopped correcting
    await journal.move_giftcard_payment("P-5", GiftcardState.DONE, GiftcardState.CORRECTING, 1.0)
    stopped_paying = GiftcardPayment(
        "P-6", "digest", "payment", None, "9B21", "card-1", -100, 2300, None,
        GiftcardState.IN_FLIGHT, None, None, None, 1.0, 1.0,
    )  # fmt: skip
    assert (await journal.start_giftcard_payment(stopped_paying))[1]
    assert giftcards_in_review(tmp_path) == []  # nothing tells a person about them yet
    await journal.recover_after_restart(2.0)
    waiting = {row.payment_id: row.state for row in giftcards_in_review(tmp_path)}
    assert waiting == {"P-5": "correct_unknown", "P-6": "unknown"}
    assert any("2 giftcard payments" in alert for alert in await alerts(journal))


class DecidedWhileSettling(ScriptedCards):
    """The person records a decision while the desk reads the card to settle a lost answer."""

    def __init__(self, balance: int, decide: Callable[[], object]) -> None:
        super().__init__(balance)
        self.decide = decide
        self.looked_up = 0

    async def find_giftcard(self, card_hash: str, *, deadline: Deadline | None = None) -> Giftcard:
        self.looked_up += 1
        if self.looked_up == 2:  # the first look-up is before sending, the second settles
            self.decide()
        return await super().find_giftcard(card_hash, deadline=deadline)


async def test_a_decision_taken_while_the_desk_settles_is_the_answer(
    journal: Journal, tmp_path: Path
) -> None:
    cards = DecidedWhileSettling(
        2500, lambda: resolve_giftcard(tmp_path, "P-7", "applied", balance_cents=2150, by="anna")
    )
    cards.fail, cards.lands = [OutcomeUnknown("reset")], True
    answer = await desk_for(journal, cards).pay(payment("P-7", "3.00"))
    assert answer.balance == Decimal("21.50")  # the person's, as the journal keeps it
    row = await journal.giftcard_payment("P-7")
    assert row is not None
    assert (row.state, row.balance_after, row.result) == (
        "done",
        2150,
        answer.model_dump(mode="json"),
    )
    assert cards.sent == [-300]
