"""The fault suite's figures (each scenario prints its own): a scenario records
what it measured here, and the conftest's ``pytest_terminal_summary`` prints the table at the
end of the session, so CI's log shows the figures of passing tests too (a plain print is
swallowed unless ``-s``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Figures:
    """One scenario's outcome; ``extra`` holds figures only that scenario has."""

    scenario: str
    sales: int
    lost: int
    duplicated: int
    in_review: int
    drain_s: float | None = None
    latencies_s: Sequence[float] = ()
    seconds: float | None = None  # the whole scenario, wall clock
    extra: dict[str, object] = field(default_factory=dict)

    def line(self) -> str:
        parts = [
            f"{self.scenario}: sales={self.sales} lost={self.lost}",
            f"duplicated={self.duplicated} in_review={self.in_review}",
        ]
        if self.drain_s is not None:
            parts.append(f"drain={self.drain_s:.1f}s")
        if self.latencies_s:
            p50, p99, top = (percentile(self.latencies_s, q) for q in (50, 99, 100))
            ms = [f"{value * 1000:.0f}ms" for value in (p50, p99, top)]
            parts.append("ack p50={} p99={} max={}".format(*ms))
        parts += [f"{key}={value}" for key, value in self.extra.items()]
        if self.seconds is not None:
            parts.append(f"took={self.seconds:.0f}s")
        return " ".join(parts)


@dataclass
class Noted:
    """Figures of a scenario that is not about sales (a retry delay, a printer fault)."""

    scenario: str
    figures: dict[str, object]

    def line(self) -> str:
        shown = ", ".join(f"{name}={_show(value)}" for name, value in self.figures.items())
        return f"{self.scenario}: {shown}"


def _show(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


#: every scenario of this session that recorded its figures, in the order they ran
RECORDED: list[Figures | Noted] = []


def note(scenario: str, **figures: object) -> None:
    """Keep free-form figures for the session's summary (record them before asserting)."""
    RECORDED.append(Noted(scenario, figures))


def record(figures: Figures) -> Figures:
    """Keep ``figures`` for the session's summary; record before asserting, so a failing
    scenario still shows what it measured."""
    RECORDED.append(figures)
    return figures


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class _Writer(Protocol):
    def write_sep(self, sep: str, title: str) -> None: ...
    def write_line(self, line: str) -> None: ...


def summarise(writer: _Writer) -> None:
    """The figures section of pytest's terminal summary; nothing when no scenario ran."""
    if not RECORDED:
        return
    writer.write_sep("=", "fault-injection figures")
    for figures in RECORDED:
        writer.write_line(figures.line())
