"""A sale's answer while a backlog of queued operations drains, against the same sales on
the same agent once idle: the three ways a till meets its backlog after an outage
(``register_agent.outbox.till_first``). ``drain.run`` builds the backlog and calls
``while_draining``, then ``idle`` once it drained; bench/README.md.

- **One customer at a time**: each sale after a quiet second, so the backlog drains with
  the outbox's whole room (``[outbox] concurrency`` deliveries under way) as it arrives:
  a shop's ordinary day. Its baseline is the same spaced sales on the idle agent: a sale
  after a pause is slower than one right after another, idle too (about 4 against 2 ms).
- **Back to back**: the backlog gives way until the till is quiet for a second.
- **Back to back for longer than ``LONGEST_HOLD_S``**: one backlog delivery beside each
  sale, the bound that lets a till that never pauses drain all the same.

The first and the last have a floor (``floor``): a delivery under way as a sale arrives
takes its share of the till's event loop (and on one core of the core), whatever the till
does. A bare till serving the POS's sale without a card from one event loop beside bare
deliveries that give way to it (``sale_floor.without_card_beside``), against the same bare
sales alone, is what that costs any such till; the agent's ratio is set against it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import sale_floor
from bench.agent_process import AgentProcess
from bench.measure import TWICE, Figure, percentile
from register_agent.config.agent import OutboxConfig
from register_agent.outbox.till_first import LONGEST_HOLD_S, QUIET_S

Samples = tuple[list[float], list[float]]  # answer times (s): no card, with a card
#: the pause before a sale made one customer at a time: the outbox's quiet second, just past
QUIET_PAUSE_S = QUIET_S + 0.1


@dataclass
class Ways:
    """A sale's answer times, each way a till meets its backlog (or none, idle)."""

    one_at_a_time: Samples
    back_to_back: Samples
    beside: Samples  # idle: its back-to-back sales (no backlog to let beside them)


@dataclass
class Floor:
    """A bare till's sales without a card (beside bare deliveries, then alone; seconds)
    for the two ways that have a backlog delivering beside a sale."""

    lanes: int  # the deliveries beside a sale one customer at a time: the outbox's room
    one_at_a_time: sale_floor.BesideAndAlone
    beside: sale_floor.BesideAndAlone  # one delivery beside each sale, back to back


def floor(
    agent: AgentProcess,
    api_url: str,
    directory: Path,
    cards: Sequence[str],
    *,
    sales: int,
    spaced: int,
) -> Floor:
    """The bare till started where ``agent`` runs, delivering for ``cards``' customers."""
    lanes = OutboxConfig().concurrency  # the benchmark's agent keeps the default
    return Floor(
        lanes,
        sale_floor.without_card_beside(
            agent, api_url, directory, cards, lanes=lanes, count=spaced, pause_s=QUIET_PAUSE_S
        ),
        sale_floor.without_card_beside(agent, api_url, directory, cards, lanes=1, count=sales),
    )


def _one_at_a_time(agent: AgentProcess, prefix: str, cards: Sequence[str], pairs: int) -> Samples:
    """``pairs`` sales without a card, each followed by one with a card, after a quiet second."""
    no_card: list[float] = []
    with_card: list[float] = []
    for number in range(pairs):
        time.sleep(QUIET_PAUSE_S)
        plain, carded = agent.time_sales(f"{prefix}-{number}", 1, cards[number % len(cards) :])
        no_card += plain
        with_card += carded
    return no_card, with_card


def while_draining(
    agent: AgentProcess,
    sales: int,
    spaced: int,
    cards: Sequence[str],
    draining: Callable[[], int],
) -> Ways:
    """Called as the Register API comes back after a quiet second: ``spaced`` pairs one
    customer at a time, then ``sales`` pairs back to back, the till kept selling until
    ``LONGEST_HOLD_S`` passed, and ``sales`` pairs more. ``draining``: how many operations
    are still to be done (there must be some left at the end)."""
    one_at_a_time = _one_at_a_time(agent, "spaced", cards, spaced)
    loud_since = time.monotonic()
    back_to_back = agent.time_sales("busy", sales, cards)
    filler = 0
    while time.monotonic() - loud_since < LONGEST_HOLD_S + 1:  # sales without a card,
        agent.sell(f"loud-{filler}")  # which add nothing to the backlog
        filler += 1
    beside = agent.time_sales("beside", sales, cards)
    if not draining():
        raise RuntimeError("the backlog drained before the sales ended: queue more")
    return Ways(one_at_a_time, back_to_back, beside)


def idle(agent: AgentProcess, sales: int, spaced: int, cards: Sequence[str]) -> Ways:
    """The same sales on the agent with nothing left to drain."""
    spaced_sales = _one_at_a_time(agent, "idle-spaced", cards, spaced)
    back_to_back = agent.time_sales("idle", sales, cards)
    return Ways(spaced_sales, back_to_back, back_to_back)


def figures(busy: Ways, calm: Ways, queued: int, bare: Floor) -> list[Figure]:
    """Each way's p99 against the idle agent's (one customer at a time: its spaced sales),
    and where a delivery goes on beside a sale, the floor's and the two ratios side by side."""
    ways = (
        (
            "one customer at a time",
            busy.one_at_a_time,
            calm.one_at_a_time,
            "spaced sales",
            (bare.one_at_a_time, f"{bare.lanes} bare deliveries beside each, spaced"),
        ),
        (
            "back to back (the backlog gives way)",
            busy.back_to_back,
            calm.back_to_back,
            "sales",
            None,
        ),
        (
            f"back to back for over {LONGEST_HOLD_S:.0f} s (one delivery beside each sale)",
            busy.beside,
            calm.beside,
            "sales",
            (bare.beside, "one bare delivery beside them, back to back"),
        ),
    )
    result = []
    for way, samples, baseline, what, floor_of in ways:
        for kind, index in (("no card", 0), ("with a card", 1)):
            agent = Figure(
                f"sale answer, {kind}, p99, while {queued:,} queued operations drain, {way}",
                percentile(samples[index], 0.99) * 1000,
                percentile(baseline[index], 0.99) * 1000,
                "ms",
                f"the same {len(baseline[index])} {what} on the idle agent",
                TWICE,
            )
            result.append(agent)
            if floor_of is not None and index == 0:
                result += _against_floor(agent, way, *floor_of)
    return result


def _against_floor(
    agent: Figure, way: str, samples: sale_floor.BesideAndAlone, how: str
) -> list[Figure]:
    """The floor's row (a bare sale beside bare deliveries against the same alone) and the
    agent's ratio against the floor's."""
    beside, alone = samples
    floor = Figure(
        f"floor of the row above: a bare till's sale without a card served from its event "
        f"loop, p99, {how} (giving way)",
        percentile(beside, 0.99) * 1000,
        percentile(alone, 0.99) * 1000,
        "ms",
        f"the same {len(alone)} bare sales with nothing beside them",
    )
    ratios = Figure(
        f"the agent's ratio against its floor's, no card, {way}",
        agent.ratio,
        floor.ratio,
        "x",
        "the floor's ratio (the row above)",
    )
    return [floor, ratios]
