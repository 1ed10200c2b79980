"""``TillFirst`` alone: which due operations the outbox may start while the till answers a
sale or a scan (the end-to-end proof on a real agent: tests/e2e/test_e2e_till_first.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

import pytest

from register_agent.journal import Operation, OperationState
from register_agent.journal.payloads import Payload
from register_agent.outbox import till_first
from register_agent.outbox.till_first import LONGEST_HOLD_S, QUIET_S, TillFirst


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


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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


def test_while_sales_come_back_to_back_the_backlog_waits_for_a_quiet_second() -> None:
    clock = Clock()
    first = TillFirst(clock=clock)
    for sale in ("A", "B", "C"):  # a run of sales, less than a second apart
        with first.serving(sale):
            assert first.choose(BACKLOG, 4, 0) == []
            assert first.holding()
        assert first.holding()  # between them too: no delivery to queue the next behind
        assert first.choose(BACKLOG, 4, 0) == []
        clock.now += QUIET_S / 2
    clock.now += QUIET_S  # the till is quiet: the whole room again
    assert not first.holding()
    assert len(first.choose(BACKLOG, 4, 0)) == 4


def test_a_till_without_a_quiet_second_for_long_earns_the_backlog_a_delivery_per_sale() -> None:
    clock = Clock()
    first = TillFirst(clock=clock)
    with first.serving("A"):
        pass
    # never a quiet second, for just under LONGEST_HOLD_S
    for number in range(int(LONGEST_HOLD_S / (QUIET_S / 2)) - 1):
        clock.now += QUIET_S / 2
        with first.serving(f"S{number}"):
            assert first.choose(BACKLOG, 4, 0) == [], number
    clock.now += QUIET_S / 2
    with first.serving("B"):  # earned by the sales before, spent beside B
        assert ids(first.choose(BACKLOG, 4, 0)) == [("op-1", False)]
        assert first.holding()
    # between sales: B's delivery, one backlog customer at a time; while it is in flight
    # the outbox need not read its due list at each sale's end
    assert first.holding(backlog_busy=1)
    assert not first.holding(backlog_busy=0)
    assert first.choose(BACKLOG[1:], 3, 1) == []
    assert ids(first.choose(BACKLOG[1:], 3, 0)) == [("op-2", False)]
    assert first.choose(BACKLOG[2:], 2, 0) == []  # spent; no sale since
    clock.now += QUIET_S  # the till is quiet: the whole room again
    assert len(first.choose(BACKLOG[2:], 2, 1)) == 2
    with first.serving("C"):  # and a new run of sales starts the count again
        assert first.choose(BACKLOG[2:], 2, 0) == []


def test_a_till_answering_without_end_still_lets_one_delivery_through() -> None:
    clock = Clock()
    first = TillFirst(clock=clock)
    with first.serving():
        assert first.choose(BACKLOG, 4, 0) == []
        clock.now += LONGEST_HOLD_S
        assert ids(first.choose(BACKLOG, 4, 0)) == [("op-1", False)]
        assert first.choose(BACKLOG[1:], 3, 0) == []


def test_an_answer_that_ends_wakes_the_outbox_when_it_held_something_back() -> None:
    woken: list[bool] = []
    first = TillFirst()
    first.listen(lambda: woken.append(True))
    with first.serving():
        assert first.choose(BACKLOG, 4, 0) == []  # held back for the answer
        assert woken == []
    assert woken == [True]
    fresh = TillFirst()
    fresh.listen(lambda: woken.append(True))
    with fresh.serving("S"):
        assert fresh.holding()  # nothing recorded yet: the outbox did not even read
    assert woken == [True, True]


def test_an_answer_that_held_nothing_back_wakes_nobody() -> None:
    # each wake-up is a read of the due list, which the next sale would wait beside
    woken: list[bool] = []
    first = TillFirst()
    first.listen(lambda: woken.append(True))
    with first.serving():  # the outbox never looked meanwhile
        pass
    mine = operation(9, "S", "c9")
    with first.serving("S") as turn:
        turn.recorded_for("c9")
        assert ids(first.choose([mine], 4, 0)) == [("op-9", True)]  # its own, nothing held
    assert woken == []


def test_a_sale_is_offered_to_the_outbox_only_when_all_its_operations_are_first_in_line() -> None:
    offered: list[list[str]] = []

    def offer(operations: Sequence[Operation]) -> bool:
        offered.append([op.id for op in operations])
        return True

    first = TillFirst()
    assert not first.offer([operation(1, "S", "c1")], 1)  # nobody listens: the till wakes
    first.listen(lambda: None, offer)
    assert first.offer([operation(1, "S", "c1")], 1)
    # two recorded, one waits behind its customer's older work: the due list decides both
    assert not first.offer([operation(2, "T", "c2")], 2)
    assert offered == [["op-1"]]


async def _step_waits(first: TillFirst, backlog: Operation) -> asyncio.Task[None]:
    """A backlog delivery's next step, started now: still waiting after the loop went round."""
    step = asyncio.create_task(first.backlog_step(backlog))
    for _ in range(5):
        await asyncio.sleep(0)
    return step


@pytest.mark.anyio
async def test_a_backlog_deliverys_next_step_waits_while_a_sale_is_answered() -> None:
    first, backlog = TillFirst(), BACKLOG[0]
    await first.backlog_step(backlog)  # nobody answered: at once
    with first.serving("S"):
        step = await _step_waits(first, backlog)
        assert not step.done()  # another customer's sale is answered: the step waits
    await asyncio.wait_for(step, 1)  # the answer ended: the step goes on


@pytest.mark.anyio
async def test_a_sale_of_the_backlog_deliverys_own_customer_lets_its_steps_go_on() -> None:
    """The sale's credits wait behind its customer's older delivery: holding that back would
    hold the sale's own answer."""
    first, backlog = TillFirst(), BACKLOG[0]
    with first.serving("S") as turn:
        step = await _step_waits(first, backlog)
        assert not step.done()  # recorded for nobody yet
        turn.recorded_for(backlog.customer_key)
        await asyncio.wait_for(step, 1)


@pytest.mark.anyio
async def test_a_backlog_deliverys_step_waits_no_longer_than_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two lanes answering without a gap between them stop no delivery for good."""
    monkeypatch.setattr(till_first, "LONGEST_STEP_WAIT_S", 0.05)
    first = TillFirst()
    with first.serving("S"), first.serving("T"):
        waited = asyncio.create_task(first.backlog_step(BACKLOG[0]))
        other = asyncio.create_task(first.backlog_step(BACKLOG[1]))
        await asyncio.wait_for(asyncio.gather(waited, other), 1)  # both, the sales still on


def test_an_answered_sales_operations_start_beyond_the_room_the_backlog_holds() -> None:
    first = TillFirst()
    mine = operation(9, "S", "c9")
    with first.serving("S") as turn:
        turn.recorded_for("c9")
        # every slot held by the backlog's deliveries (waiting at their steps): none left
        # for the backlog, one for the sale
        assert ids(first.choose([*BACKLOG, mine], 0, 4, own_room=1)) == [("op-9", True)]
        assert first.choose([*BACKLOG, mine], 0, 4, own_room=0) == []


def test_a_backlog_step_waits_on_a_later_event_loop_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait a step left unanswered (its bound ran out) belongs to its loop: a step on a
    later loop waits on one of its own, never on the old loop's."""
    monkeypatch.setattr(till_first, "LONGEST_STEP_WAIT_S", 0.02)
    first = TillFirst()
    with first.serving("S"):
        asyncio.run(first.backlog_step(BACKLOG[0]))  # bound out, its wait left unanswered
        asyncio.run(first.backlog_step(BACKLOG[0]))


def test_a_sale_committed_but_not_yet_marked_is_not_taken_for_the_backlogs_delivery() -> None:
    """Past the bound the backlog has one delivery beside the sales; the sale being answered
    has its operations in the journal a moment before its answer marks them its own: they
    wait for that (the till offers them then), and the backlog's delivery goes to the next."""
    clock = Clock()
    first = TillFirst(clock=clock)
    with first.serving("A"):
        pass
    for number in range(int(LONGEST_HOLD_S / (QUIET_S / 2)) + 1):  # never a quiet second
        clock.now += QUIET_S / 2
        with first.serving(f"S{number}"):
            pass
    mine = operation(9, "S", "c9")
    with first.serving("S") as turn:
        assert ids(first.choose([mine, *BACKLOG], 4, 0)) == [("op-1", False)]
        turn.recorded_for("c9")
        assert ids(first.choose([mine], 4, 1)) == [("op-9", True)]
