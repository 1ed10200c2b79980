"""The due list's questions against a real SQLite file: "is anything of this customer's
before it?" is one probe of the operations still to be done, however long the customer's
history of done operations is (the work counted in SQLite's own virtual machine steps)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from register_agent.journal.due import due_operations, first_in_line
from register_agent.journal.schema import migrate

NOW = 1_000_000.0


def _open(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.row_factory = sqlite3.Row
    migrate(connection)
    return connection


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = _open(tmp_path / "journal.sqlite3")
    yield connection
    connection.close()


def _add(db: sqlite3.Connection, operation_id: str, customer: str, state: str) -> None:
    db.execute(
        "INSERT INTO operations (id, kind, customer_key, payload, state, next_attempt_at,"
        " created_at, updated_at) VALUES (?, 'credit', ?, '{}', ?, ?, ?, ?)",
        (operation_id, customer, state, NOW - 1, NOW - 1, NOW - 1),
    )


def _steps(db: sqlite3.Connection, ask: Callable[[], object]) -> int:
    """How many hundreds of SQLite virtual machine instructions ``ask()`` ran."""
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0  # go on

    db.set_progress_handler(count, 100)
    try:
        ask()
    finally:
        db.set_progress_handler(None, 0)
    return counted[0]


def _history(db: sqlite3.Connection, customer: str, done: int) -> str:
    """``done`` finished operations of ``customer``, then a new one: its id."""
    db.execute("BEGIN")
    for number in range(done):
        _add(db, f"{customer}-done-{number}", customer, "done")
    _add(db, f"{customer}-new", customer, "pending")
    db.execute("COMMIT")
    return f"{customer}-new"


def test_a_regulars_long_history_costs_the_due_lists_questions_nothing(tmp_path: Path) -> None:
    steps = {}
    for done in (3, 3_000):
        db = _open(tmp_path / f"journal-{done}.sqlite3")
        regular = _history(db, "card:regular", done)
        newcomer = _history(db, "card:new", 3)
        assert [op.id for op in first_in_line(db, [regular], NOW)] == [regular]
        assert {op.id for op in due_operations(db, NOW, 10)} == {newcomer, regular}
        steps[done] = (
            _steps(db, lambda: first_in_line(db, [regular], NOW)),  # noqa: B023 (called here)
            _steps(db, lambda: due_operations(db, NOW, 10)),  # noqa: B023
        )
        db.close()
    # walking 3,000 done rows for either question would be hundreds of hundreds of steps
    (first_short, due_short), (first_long, due_long) = steps[3], steps[3_000]
    assert first_long <= first_short + 1, steps
    assert due_long <= due_short + 1, steps


def test_an_operation_in_flight_or_unknown_still_holds_its_customer_back(
    db: sqlite3.Connection,
) -> None:
    for state in ("in_flight", "unknown", "pending"):
        customer = f"card:{state}"
        _add(db, f"{customer}-first", customer, state)
        later = _history(db, customer, 2)
        assert first_in_line(db, [later], NOW) == [], state
    _add(db, "card:parked-first", "card:parked", "review")  # parked holds nobody up
    later = _history(db, "card:parked", 2)
    assert [op.id for op in first_in_line(db, [later], NOW)] == [later]


def test_a_due_backlog_of_other_customers_costs_a_sales_own_question_nothing(
    tmp_path: Path,
) -> None:
    """A sale's transaction asks of its own new operations only: after an outage the whole
    backlog is pending and due, and walking it there made each sale's commit longer by the
    backlog's length (1.8 ms at 10,000, measured) while the cashier waited."""
    steps = {}
    for backlog in (3, 3_000):
        db = _open(tmp_path / f"journal-{backlog}.sqlite3")
        db.execute("BEGIN")
        for number in range(backlog):
            _add(db, f"backlog-{number}", f"card:{number % 100}", "pending")
        db.execute("COMMIT")
        sale = _history(db, "card:at-the-counter", 0)
        assert [op.id for op in first_in_line(db, [sale], NOW)] == [sale]
        steps[backlog] = _steps(db, lambda: first_in_line(db, [sale], NOW))  # noqa: B023
        db.close()
    assert steps[3_000] <= steps[3] + 1, steps
