"""How ``TillHealth`` judges the Register API from what its calls said: a lost answer now
and then is not "unreachable", a run of them is; any answer with a code is an answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from register_agent.config import OutboxConfig
from register_agent.counter.health import UNANSWERED_IS_DOWN, TillHealth
from register_agent.errors import AlreadyApplied, NotApplied, OutcomeUnknown
from register_agent.journal import Journal


@pytest.fixture
def health(tmp_path: Path) -> Iterator[TillHealth]:
    journal = Journal.open(tmp_path / "journal.sqlite3")
    yield TillHealth(journal, OutboxConfig())
    journal.close()


def test_lost_answers_make_it_unreachable_only_in_a_run(health: TillHealth) -> None:
    health.api_result(None)
    for _ in range(UNANSWERED_IS_DOWN - 1):
        health.api_result(OutcomeUnknown("the connection dropped after the request"))
        assert state(health) == "reachable"
    health.api_result(None)  # an answer between starts the count again
    for _ in range(UNANSWERED_IS_DOWN - 1):
        health.api_result(OutcomeUnknown("the connection dropped after the request"))
    assert state(health) == "reachable"
    health.api_result(OutcomeUnknown("and again"))
    assert state(health) == "unreachable"


def test_an_answer_with_a_code_is_an_answer_and_no_connection_is_unreachable(
    health: TillHealth,
) -> None:
    health.api_result(NotApplied("connection refused"))
    assert state(health) == "unreachable"
    health.api_result(AlreadyApplied("6001: the POS transaction has its reception", code=6001))
    assert state(health) == "reachable"


def state(health: TillHealth) -> str:
    return health.api_state  # read afresh each time (mypy would narrow the property)
