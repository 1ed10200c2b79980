"""The till goes first: while a sale or a scan is being answered, the outbox starts no new
delivery of the backlog, so the cashier's answer does not queue behind the deliveries' work
on the one event loop (and GIL) they share. Deliveries already in flight finish, and the
answered sale's own operations (and its customer's older ones, which go before them) are
started as ever: the card sale waits for them. The till marks what it answers
(``serving``); the worker asks ``choose`` which of the due operations to start. The runtime
makes one and hands it to both, as it does ``Settled``.

The backlog gets its whole room (``backlog_room``: up to ``[outbox] concurrency`` customers
side by side) again once the till has been quiet for ``QUIET_S``, which a till's
customers, seconds apart, give it between them.
While sales come back to back without such a pause, the backlog waits: each delivery it
started then would share the till's one event loop (and on a small till its one core) with
the next sale, and that sale's answer would queue behind it. Measured on one core with
10,000 operations draining and sales back to back (bench/README.md), a sale's p99 was 1.95
to 2.94x of idle over four runs with a backlog delivery earned by each sale, and 1.52 to
2.98x over three holding it back: lower on the whole, not always, on a machine whose runs
move by a third.
A backlog delivery already under way when an answer begins gives way too: before each
of its steps (a request, a commit) it waits while the till answers somebody else's sale
or a scan (``backlog_step``), so the answer shares the core with at most the ends of
the steps then running, not with whole deliveries. Measured on one core with sales back
to back past the bound below (one backlog delivery beside each sale), over two runs each:
a card sale's p50 8.1 and 10.3 ms with it (idle 7.8 and 10.9), 14.7 and 15.0 without
(idle 8.3 and 8.3); the backlog delivered 386 and 587 operations meanwhile instead of
1,299 and 1,533: the cashier first, the backlog at the pace of the gaps between sales.
(Two lanes answering without a gap between them make each step wait its whole bound:
a backlog delivery then takes seconds.)
The yield is bounded, so a till that never pauses still drains its backlog: after
``LONGEST_HOLD_S`` without a quiet second, each sale answered earns the backlog one
delivery, started even while the next sale is answered, one backlog customer at a time.
Nothing here changes what is delivered or the order of a customer's operations: it only
picks, from the journal's due list, when.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator, Sequence

from register_agent.journal import Operation

#: no sale or scan answered for this long: the backlog gets the outbox's whole room again
#: (a till's customers come tens of seconds apart; a second keeps a run of sales apart
#: from the deliveries without slowing a drain between customers)
QUIET_S = 1.0
#: a till without a quiet second for this long (no shop's counter sells that fast for that
#: long; longer than any one answer at the default settings: a card's look-up within 2 s,
#: the credits' wait within 1.5 s) lets the backlog through beside its sales: one delivery
#: per sale answered, and one per this long when a single answer never ends
LONGEST_HOLD_S = 30.0
#: the longest a backlog delivery's next step waits for the till's answers to end (two
#: lanes answering without a gap between them would otherwise stop it for as long)
LONGEST_STEP_WAIT_S = 1.0


class Turn:
    """One answer the till is giving: a sale (by its id, and its customer once recorded)
    or a scan."""

    def __init__(self, sale_id: str | None, changed: Callable[[], None]) -> None:
        self.sale_id = sale_id
        self.customer_key: str | None = None
        self.recorded = False
        self._changed = changed

    def recorded_for(self, customer_key: str | None) -> None:
        """The sale's operations are in the journal: the outbox starts them now (and its
        customer's backlog delivery under way goes on: the sale's credits wait for it)."""
        self.customer_key = customer_key
        self.recorded = True
        self._changed()

    def owns(self, operation: Operation) -> bool:
        if not self.recorded:
            return False
        mine = self.sale_id is not None and operation.sale_id == self.sale_id
        return mine or (
            self.customer_key is not None and operation.customer_key == self.customer_key
        )


class TillFirst:
    """What the till is answering now, and which due operations the outbox may start."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._turns: set[Turn] = set()
        self._loud_since = 0.0  # when the till last began answering after a quiet second
        self._backlog_at = 0.0  # when a backlog delivery last started (or the till got loud)
        self._last_turn = -QUIET_S  # when an answer last began or ended
        self._owed = 0  # sales ended since the outbox last started a backlog delivery
        # whether the outbox left something for later since the last answer ended: only
        # then is an answer's end worth a wake-up (each is a read of the due list, on the
        # reader's thread, that the next sale would share the machine with)
        self._held = False
        self._turns_changed: asyncio.Future[None] | None = None  # what backlog steps await
        self._stopping = False  # the outbox stops: its steps wait for nobody
        self._wake: Callable[[], None] = lambda: None
        self._offer: Callable[[Sequence[Operation]], bool] = lambda _: False

    def listen(
        self,
        wake: Callable[[], None],
        offer: Callable[[Sequence[Operation]], bool] = lambda _: False,
    ) -> None:
        """The outbox's wake-up: an answer ended, and what the outbox held back may start.
        An answer that ends with nothing held back wakes nothing (the outbox also looks
        at its idle poll, and whenever a delivery ends or new work is written). And its
        ``offer``: a sale's operations to start as it is recorded."""
        self._wake, self._offer = wake, offer

    def offer(self, first: Sequence[Operation], recorded: int) -> bool:
        """The sale being answered recorded ``recorded`` operations, of which ``first`` are
        first in their customers' lines: whether the outbox started them all now (when
        some wait behind others, or no outbox listens, the caller wakes it instead)."""
        return len(first) == recorded and self._offer(first)

    @contextlib.contextmanager
    def serving(self, sale_id: str | None = None) -> Iterator[Turn]:
        """The till answers a sale (``sale_id``) or a scan inside this block."""
        turn = Turn(sale_id, self._changed)
        if self._quiet():
            self._loud_since = self._backlog_at = self._clock()
        self._turns.add(turn)
        self._last_turn = self._clock()
        try:
            yield turn
        finally:
            self._turns.discard(turn)
            self._last_turn = self._clock()
            self._owed += 1
            self._changed()
            if self._held:
                self._held = False
                self._wake()

    def holding(self, backlog_busy: int = 0) -> bool:
        """Whether nothing could be started now: the outbox need not even read the due list
        (a read on the reader thread is work a sale would wait behind too). ``backlog_busy``:
        the backlog's deliveries in flight; beside sales one at a time, so while one is,
        each sale's end would have read the list for nothing (a read per sale, measured)."""
        owed = self._owed_now() and backlog_busy == 0
        held = not (self.sale_recorded() or self._quiet() or owed)
        self._held |= held
        return held

    def sale_recorded(self) -> bool:
        """Whether a sale being answered has its operations in the journal (to start)."""
        return any(turn.recorded for turn in self._turns)

    def choose(
        self,
        due: Sequence[Operation],
        room: int,
        backlog_busy: int,
        own_room: int | None = None,
    ) -> list[tuple[Operation, bool]]:
        """Of ``due`` (free to start, in the journal's order), those to start, each with
        whether it is an answered sale's own (True) or the backlog's: the backlog's within
        ``room`` (its lanes less its deliveries in flight, and the outbox's concurrency less
        everything in flight), an answered sale's
        within ``own_room`` (the same less only what the answered sales have in flight:
        a slot held by a backlog delivery waiting at its step never keeps a sale's credits
        waiting). ``backlog_busy``: the backlog's deliveries in flight."""
        own_room = room if own_room is None else own_room
        if self._quiet():
            backlog = room
        elif self._owed_now():  # no pause for long: one backlog customer at a time
            backlog = min(room, max(0, 1 - backlog_busy))
        else:
            backlog = 0
        chosen: list[tuple[Operation, bool]] = []
        for operation in due:
            if len(chosen) >= own_room:
                break
            own = self._answering_for(operation)
            if not own and self._being_recorded(operation):
                # committed a moment before its sale's answer marks it: offered as that
                # sale's own then, not taken for the backlog's (which would spend the
                # backlog's one delivery beside sales on it, and keep it from the offer)
                continue
            if not own and backlog <= 0:
                self._held = True
                continue
            chosen.append((operation, own))
            if not own:
                backlog -= 1
                self._owed = 0
                self._backlog_at = self._clock()
        return chosen

    async def backlog_step(self, operation: Operation) -> None:
        """Before a backlog delivery's next step: wait while the till answers a sale or a
        scan that is not ``operation``'s customer's (at most ``LONGEST_STEP_WAIT_S``).
        Only when it happens changes; what is sent, and in which order, stays the same."""
        if not self._holds_back(operation):
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LONGEST_STEP_WAIT_S):
                loop = asyncio.get_running_loop()
                while self._holds_back(operation):
                    if self._turns_changed is None or self._turns_changed.get_loop() is not loop:
                        # (one left by an event loop that has ended cannot be awaited on this one)
                        self._turns_changed = loop.create_future()
                    # shielded: one step's timeout must not cancel the others' wait
                    await asyncio.shield(self._turns_changed)

    def stopping(self) -> None:
        """The outbox stops: a backlog step waits no longer (the deliveries under way have
        the stop's grace to end in, and one cancelled stays in flight to reconcile)."""
        self._stopping = True
        self._changed()

    def _being_recorded(self, operation: Operation) -> bool:
        return operation.sale_id is not None and any(
            not turn.recorded and turn.sale_id == operation.sale_id for turn in self._turns
        )

    def _holds_back(self, operation: Operation) -> bool:
        return not self._stopping and bool(self._turns) and not self._answering_for(operation)

    def _answering_for(self, operation: Operation) -> bool:
        """Whether a sale being answered waits for ``operation`` (its own, or its
        customer's older one)."""
        return any(turn.owns(operation) for turn in self._turns)

    def _changed(self) -> None:
        """An answer began to own operations, or ended: the waiting backlog steps look."""
        waiter, self._turns_changed = self._turns_changed, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _quiet(self) -> bool:
        return not self._turns and self._clock() - self._last_turn >= QUIET_S

    def _owed_now(self) -> bool:
        """Whether the backlog may have one delivery beside the sales: only once the till
        has gone ``LONGEST_HOLD_S`` without a quiet second, and then one per sale answered
        (or per ``LONGEST_HOLD_S`` while one answer goes on)."""
        now = self._clock()
        if now - self._loud_since < LONGEST_HOLD_S:
            return False
        return self._owed > 0 or now - self._backlog_at >= LONGEST_HOLD_S
