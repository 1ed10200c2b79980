"""Small measuring helpers shared by the benchmarks: timing samples and their summary."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Goal:
    """What a figure must show: its ratio at most or at least ``limit`` (``kind`` "at most",
    "at least"), or its value at most ``limit`` of its unit over its baseline ("over")."""

    kind: Literal["at most", "at least", "over"]
    limit: float

    def judged(self, value: float, baseline: float) -> float:
        """The quantity the goal is about: the ratio, or the value over the baseline."""
        return value - baseline if self.kind == "over" else _ratio(value, baseline)

    def met(self, judged: float) -> bool:
        return judged >= self.limit if self.kind == "at least" else judged <= self.limit

    def says(self, unit: str) -> str:
        if self.kind == "over":
            return f"at most {self.limit:g} {unit} over the baseline"
        return f"ratio {self.kind} {self.limit:g}"


#: a time within twice its floor's (a start, a sale's answer, a sale beside the backlog)
TWICE = Goal("at most", 2)
#: a process's memory within a quarter more than one that only imports the same libraries
MEMORY = Goal("at most", 1.25)


@dataclass(frozen=True)
class Figure:
    """One row of the results table: what was measured, against which baseline.

    A figure merged from several rounds (``merged``) keeps each round's value and baseline
    in ``rounds``: its value and baseline are the rounds' medians, its ratio the median of
    the rounds' ratios (a ratio of medians would pair one round's value with another's
    baseline), shown with their lowest and highest."""

    name: str
    value: float
    baseline: float
    unit: str
    baseline_name: str
    goal: Goal | None = None
    rounds: tuple[tuple[float, float], ...] = ()

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Figure:
        """The figure ``dataclasses.asdict`` wrote (a child process's result)."""
        goal = Goal(**row["goal"]) if row.get("goal") else None
        rounds = tuple((value, baseline) for value, baseline in row.get("rounds", ()))
        return cls(**{**row, "goal": goal, "rounds": rounds})

    @property
    def pairs(self) -> tuple[tuple[float, float], ...]:
        """Each round's value and baseline (the one pair of a figure measured once)."""
        return self.rounds or ((self.value, self.baseline),)

    @property
    def ratio(self) -> float:
        return median(self.ratios)

    @property
    def ratios(self) -> list[float]:
        return [_ratio(value, baseline) for value, baseline in self.pairs]

    def row(self) -> str:
        return f"| {self.name} | {self.cells()} |"

    def cells(self) -> str:
        """Value, baseline and ratio as three table cells; merged from several rounds, the
        ratio's lowest and highest after it."""
        spread = ""
        if len(self.rounds) > 1:
            spread = f" ({min(self.ratios):.2f}-{max(self.ratios):.2f})"
        return (
            f"{self.value:.3g} {self.unit} | {self.baseline_name}: "
            f"{self.baseline:.3g} {self.unit} | {self.ratio:.2f}{spread}"
        )


def merged(rounds: list[list[Figure]]) -> list[Figure]:
    """One figure per name from the same benchmark run several times (``rounds``, in the
    order of the first that has each name): values and baselines as measured in each."""
    by_name: dict[str, list[Figure]] = {}
    for figures in rounds:
        for figure in figures:
            by_name.setdefault(figure.name, []).append(figure)
    result = []
    for name, same in by_name.items():
        pairs = tuple(pair for figure in same for pair in figure.pairs)
        first = same[0]
        result.append(
            Figure(
                name,
                median([value for value, _ in pairs]),
                median([baseline for _, baseline in pairs]),
                first.unit,
                first.baseline_name,
                first.goal,
                pairs,
            )
        )
    return result


def _ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else float("inf")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def answer_figures(
    names: tuple[str, str],
    samples: list[float],
    baseline: list[float],
    baseline_name: str,
    goals: tuple[Goal | None, Goal | None] = (None, None),
) -> list[Figure]:
    """Two rows named ``names``: the median and the p99 of ``samples`` (seconds) against the
    same of ``baseline``, in milliseconds, with their ``goals``."""
    p50, p99 = names
    p50_goal, p99_goal = goals
    return [
        Figure(p50, median(samples) * 1000, median(baseline) * 1000, "ms", baseline_name, p50_goal),
        Figure(
            p99,
            percentile(samples, 0.99) * 1000,
            percentile(baseline, 0.99) * 1000,
            "ms",
            baseline_name,
            p99_goal,
        ),
    ]


def time_calls(call: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


async def time_async_calls(call: Callable[[int], Awaitable[object]], count: int) -> list[float]:
    samples = []
    for number in range(count):
        started = time.perf_counter()
        await call(number)
        samples.append(time.perf_counter() - started)
    return samples
