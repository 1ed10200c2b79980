"""How many of the backlog's customers the outbox delivers side by side: a lane at a time,
up to ``[outbox] concurrency``, each lane kept only while it adds to the drain. The worker
(``worker.py``) starts backlog deliveries within ``lanes`` and tells the room how long each
took (``took``); an answered sale's own operations are not the backlog's and start beyond it.

Why not always the whole concurrency: a lane earns its place only when deliveries wait on
something the agent does not (the network, the Register API's server), so that while one
waits another works. Where they wait on the till's own core instead (a one-core till, a
LAN whose server answers at once), another lane adds little drain and makes every round of
the till's one event loop longer, and a sale that arrives waits for that round before its
connection is even accepted. Measured on one core with the Register API's server beside
the agent and a sale after every quiet second while 6,000 operations drained
(bench/README.md): the sale's p99 against idle was 1.14x with one lane, 1.88x with two and
2.07x with four, while the drain went from 190 a second with one to 173, 179 and 274 with
two, three and four (a machine whose runs move by a third): little drain for a doubled
wait; judged as below, the room keeps one lane there (1.23x and 179 a second in a
scratch run). Where answers take tens of milliseconds (a real network), each lane adds
close to a whole lane's drain, and four keep their place.

How a lane is judged (the way TCP Vegas judges a window by its round trips): by Little's
law a room of ``n`` lanes that are kept busy drains ``n / t`` a second, ``t`` being the
typical time one delivery takes (the median of ``WINDOW``; its waits while the till
answers a sale are not counted). A lane keeps its place while the room with it drains at
least ``EARNS`` of a lane's rate more than the room without it; the room grows while the
next lane's rate is not known or is known to earn. What a room drains changes (the network,
the server, what else the till runs): a rate is forgotten after ``KEPT_S``, so the room
tries its neighbours again now and then, one window each, one lane either side.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: deliveries measured before the room is judged again
WINDOW = 16
#: the share of a lane's rate that one more lane must add to keep its place. Measured on
#: loopback with 4,000 queued, fixed lanes, the Register API's server on another core than
#: the agent's: two lanes drained 1.52x of one, three 1.12x of two, four 0.90x of three; on
#: one core with the server, two drained 0.91x of one; over a network each lane adds about
#: one. A quarter keeps clear of the one-core case and of noise, and takes the second lane
#: where it adds half of one (half a lane, tried first, sat on the two-core case's edge).
EARNS = 0.25
#: how long a room's measured rate is trusted (then its lane count is tried again)
KEPT_S = 30.0


class BacklogRoom:
    """The lanes the backlog may use now (``lanes``), judged from its deliveries' times."""

    def __init__(self, most: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._most = max(1, most)
        self._clock = clock
        #: backlog customers side by side now; it starts at one and grows while lanes earn
        self.lanes = 1
        self._took: list[float] = []
        self._rates: dict[int, tuple[float, float]] = {}  # lanes -> (deliveries/s, when)

    def took(self, lanes: int, seconds: float) -> None:
        """A backlog delivery started while the room had ``lanes`` lanes took ``seconds``
        (its waits for the till's answers left out)."""
        if lanes != self.lanes:
            return  # measured on another room: it says nothing of this one
        self._took.append(seconds)
        if len(self._took) < WINDOW:
            return
        typical = max(statistics.median(self._took), 1e-6)
        self._took.clear()
        now = self._clock()
        self._rates[lanes] = (lanes / typical, now)
        self._judge(lanes, now)

    def _judge(self, lanes: int, now: float) -> None:
        fewer = self._rate(lanes - 1, now)
        more = self._rate(lanes + 1, now) if lanes < self._most else None
        if fewer is not None and not self._earns(lanes):
            self._move(lanes - 1, "the last lane added too little")
        elif lanes < self._most and (more is None or self._earns(lanes + 1)):
            self._move(lanes + 1, "one more lane may add to the drain")
        elif lanes > 1 and fewer is None:
            self._move(lanes - 1, "one lane fewer is measured again")

    def _earns(self, lanes: int) -> bool:
        """Whether ``lanes`` drain at least ``EARNS`` of a lane's rate more than one fewer
        (both measured)."""
        with_it, without = self._rates[lanes][0], self._rates[lanes - 1][0]
        return with_it >= without * (1 + EARNS / (lanes - 1))

    def _rate(self, lanes: int, now: float) -> float | None:
        if lanes < 1:
            return None
        measured = self._rates.get(lanes)
        if measured is None or now - measured[1] > KEPT_S:
            return None
        return measured[0]

    def _move(self, lanes: int, why: str) -> None:
        log.debug("backlog lanes %d -> %d: %s", self.lanes, lanes, why)
        self.lanes = lanes
