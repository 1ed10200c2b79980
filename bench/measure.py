"""Small measuring helpers shared by the benchmarks: timing samples and their summary."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One row of the results table: what was measured, against which baseline."""

    name: str
    value: float
    baseline: float
    unit: str
    baseline_name: str

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")

    def row(self) -> str:
        return f"| {self.name} | {self.cells()} |"

    def cells(self) -> str:
        """Value, baseline and ratio as three table cells."""
        return (
            f"{self.value:.3g} {self.unit} | {self.baseline_name}: "
            f"{self.baseline:.3g} {self.unit} | {self.ratio:.2f}"
        )


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def answer_figures(
    names: tuple[str, str], samples: list[float], baseline: list[float], baseline_name: str
) -> list[Figure]:
    """Two rows named ``names``: the median and the p99 of ``samples`` (seconds) against the
    same of ``baseline``, in milliseconds."""
    p50, p99 = names
    return [
        Figure(p50, median(samples) * 1000, median(baseline) * 1000, "ms", baseline_name),
        Figure(
            p99,
            percentile(samples, 0.99) * 1000,
            percentile(baseline, 0.99) * 1000,
            "ms",
            baseline_name,
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
