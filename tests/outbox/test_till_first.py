"""``TillFirst`` alone: which due operations the outbox may start while the till answers a
sale or a scan (the end-to-end proof on a real agent: tests/e2e/test_e2e_till_first.py)."""

from __future__ import annotations

from typing import cast

from register_agent.journal import Operation, OperationState
from register_agent.journal.payloads import Payload
from register_agent.outbox.till_first import LONGEST_HOLD_S, TillFirst


def operation(number: int, sale_id: str, customer: str | None) -> Operation:
    return Operation(
        seq=number,
        id=f"op-{number}",
        sale_id=sale_id,
        kind="credit_reception",
        customer_key=customer,
        payload=cast(Payload, {}),
        state=OperationState.PENDING,
        attempts=0,
        next_attempt_at=0.0,
        last_error=None,
        server_ref=None,
        result=None,
        created_at=0.0,
        updated_at=0.0,
    )


BACKLOG = [operation(number, f"old-{number}", f"c{number}") for number in range(1, 5)]


def ids(chosen: list[tuple[Operation, bool]]) -> list[tuple[str, bool]]:
    return [(op.id, own) for op, own in chosen]


def test_a_quiet_till_leaves_the_outbox_its_whole_room() -> None:
    assert ids(TillFirst().choose(BACKLOG, 3, 0)) == [
        ("op-1", False),
        ("op-2", False),
        ("op-3", False),
    ]


def test_while_a_sale_is_answered_only_its_own_operations_and_its_customers_start() -> None:
    first = TillFirst()
    mine = operation(9, "S", "c2")
    with first.serving("S") as turn:
        assert first.holding()  # nothing recorded yet: no need to read the due list
        assert first.choose([*BACKLOG, mine], 4, 0) == []
        turn.recorded_for("c2")
        assert not first.holding()
        # c2's older operation goes first (its order holds), then the sale's own
        assert ids(first.choose([*BACKLOG, mine], 4, 0)) == [("op-2", True), ("op-9", True)]


def test_each_sale_answered_earns_the_backlog_one_delivery_beside_the_next() -> None:
    first = TillFirst()
    with first.serving("A"):
        assert first.choose(BACKLOG, 4, 0) == []
    with first.serving("B"):
        assert ids(first.choose(BACKLOG, 4, 0)) == [("op-1", False)]
        assert first.choose(BACKLOG[1:], 3, 1) == []  # earned once, spent


def test_while_sales_come_in_one_backlog_customer_at_a_time_until_the_till_is_quiet() -> None:
    first = TillFirst()
    with first.serving("A"):
        pass
    assert ids(first.choose(BACKLOG, 4, 0)) == [("op-1", False)]
    with first.serving("B"):
        pass
    assert first.choose(BACKLOG[1:], 3, 1) == []  # that one still in flight
    assert len(first.choose(BACKLOG[1:], 3, 1)) == 3  # no sale since the last look: quiet


def test_a_till_answering_without_end_still_lets_one_delivery_through() -> None:
    now = [100.0]
    first = TillFirst(clock=lambda: now[0])
    with first.serving():
        assert first.choose(BACKLOG, 4, 0) == []
        now[0] += LONGEST_HOLD_S
        assert ids(first.choose(BACKLOG, 4, 0)) == [("op-1", False)]
        assert first.choose(BACKLOG[1:], 3, 1) == []


def test_an_answer_that_ends_wakes_the_outbox() -> None:
    woken: list[bool] = []
    first = TillFirst()
    first.listen(lambda: woken.append(True))
    with first.serving():
        assert woken == []
    assert woken == [True]
