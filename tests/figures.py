"""Figures of the fault-injection suite (issue 6 "Each scenario prints its figures"): a test
calls ``record(scenario, sales=..., lost=..., ...)``; the conftest's terminal summary prints
every recorded line at the end of the run, so CI logs show them without ``-s``.
"""

from __future__ import annotations

from typing import Any

#: (scenario, figures) in the order recorded
RECORDED: list[tuple[str, dict[str, Any]]] = []


def record(scenario: str, **figures: Any) -> None:
    """Keep one scenario's figures for the run's summary (and say them now for ``-s``)."""
    RECORDED.append((scenario, figures))
    print(f"[figures] {line(scenario, figures)}")


def line(scenario: str, figures: dict[str, Any]) -> str:
    shown = ", ".join(f"{name}={_show(value)}" for name, value in figures.items())
    return f"{scenario}: {shown}"


def _show(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
