"""``BacklogRoom`` alone: how many backlog customers side by side, judged from the times its
deliveries took, on made-up tills whose delivery times follow a rule (the worker's use of
it: tests/outbox/test_outbox.py; on a real agent over a slow network:
tests/e2e/test_e2e_backlog.py)."""

from __future__ import annotations

from collections.abc import Callable

from register_agent.outbox.backlog_room import KEPT_S, WINDOW, BacklogRoom

#: a delivery's time with ``lanes`` side by side
Till = Callable[[int], float]


def network(lanes: int) -> float:
    """Deliveries wait on a far server: lanes overlap, each takes as long as alone."""
    return 0.100


def one_core(lanes: int) -> float:
    """Deliveries wait on the till's own core: lanes queue, the drain stays the same."""
    return 0.005 * lanes


def two_lanes_earn(lanes: int) -> float:
    """A second lane drains 1.6x one lane; a third adds a sixteenth (1.7x), a fourth nothing."""
    rate = {1: 1.0, 2: 1.6, 3: 1.7, 4: 1.7}[lanes]
    return 0.005 * lanes / rate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def judged(room: BacklogRoom, till: Till, windows: int) -> list[int]:
    """``windows`` windows of deliveries at the room's lanes; the lanes after each."""
    seen = []
    for _ in range(windows):
        lanes = room.lanes
        for _ in range(WINDOW):
            room.took(lanes, till(lanes))
        seen.append(room.lanes)
    return seen


def test_over_a_network_the_room_grows_a_lane_a_window_to_the_concurrency_and_stays() -> None:
    room = BacklogRoom(4, Clock())
    assert room.lanes == 1
    assert judged(room, network, 8) == [2, 3, 4, 4, 4, 4, 4, 4]


def test_on_one_core_a_second_lane_is_tried_once_and_given_up() -> None:
    room = BacklogRoom(4, Clock())
    assert judged(room, one_core, 8) == [2, 1, 1, 1, 1, 1, 1, 1]


def test_the_room_settles_where_the_next_lane_adds_less_than_a_quarter_of_one() -> None:
    room = BacklogRoom(4, Clock())
    assert judged(room, two_lanes_earn, 6) == [2, 3, 2, 2, 2, 2]


def test_a_rate_is_trusted_for_a_while_then_the_lanes_beside_are_tried_again() -> None:
    clock = Clock()
    room = BacklogRoom(4, clock)
    judged(room, two_lanes_earn, 3)  # 1, then 2, tried 3, back at 2
    clock.now += KEPT_S + 1
    # both neighbours forgotten: the next lane up first, then the one below, each one window
    assert judged(room, two_lanes_earn, 5) == [3, 2, 1, 2, 2]


def test_a_room_at_the_concurrency_tries_one_lane_fewer_and_comes_back() -> None:
    clock = Clock()
    room = BacklogRoom(4, clock)
    judged(room, network, 4)
    clock.now += KEPT_S + 1
    assert judged(room, network, 3) == [3, 4, 4]


def test_a_network_that_becomes_the_tills_own_core_brings_the_room_down() -> None:
    clock = Clock()
    room = BacklogRoom(4, clock)
    judged(room, network, 4)
    # faster than any room measured over the network, so no lane is seen to add nothing ...
    assert judged(room, one_core, 2) == [4, 4]
    clock.now += KEPT_S + 1
    # ... until those rates are forgotten: each lane below is measured again, and none earns
    assert judged(room, one_core, 5) == [3, 2, 1, 1, 1]


def test_a_core_that_gets_a_network_to_wait_on_lets_the_room_grow_again() -> None:
    clock = Clock()
    room = BacklogRoom(4, clock)
    judged(room, one_core, 4)
    assert room.lanes == 1
    clock.now += KEPT_S + 1
    assert judged(room, network, 4) == [2, 3, 4, 4]


def test_deliveries_started_in_another_room_are_not_counted() -> None:
    room = BacklogRoom(4, Clock())
    for _ in range(WINDOW * 3):
        room.took(2, 0.001)  # the room has one lane: these began before a change
    assert room.lanes == 1
    judged(room, network, 1)
    assert room.lanes == 2


def test_a_concurrency_of_one_is_one_lane_whatever_the_times() -> None:
    room = BacklogRoom(1, Clock())
    assert judged(room, network, 4) == [1, 1, 1, 1]
