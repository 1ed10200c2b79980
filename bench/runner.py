"""The benchmark runner behind ``python -m bench``: each benchmark module runs in a process
of its own, on every core this machine gives it or pinned to one (``taskset -c``, util-linux:
a till the size of a Raspberry Pi), and each module adds its peak resident memory: the
highest of the agent processes it started (``VmHWM``, read as each stops), or, for a module
that measures in-process, its own process's.

A module is a function returning ``Figure`` rows; list it in ``MODULES`` with its full and
quick arguments and it runs in both modes (bench/README.md, "Two cores and one").
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import agent_process
from bench.measure import MEMORY, Figure, Goal, median

#: what the agent imports, nothing more: the floor of a process's memory
IMPORTS_ONLY = (
    "import httpx, pydantic_settings, serial, fastapi, uvicorn, escpos.printer; "
    "from bench.agent_process import peak_rss_mb; import os; print(peak_rss_mb(os.getpid()))"
)


@dataclass(frozen=True)
class Module:
    """One benchmark module: ``bench.<name>.run(**full)`` (or ``**quick`` for a smoke run)."""

    name: str
    full: dict[str, Any] = field(default_factory=dict)
    quick: dict[str, Any] = field(default_factory=dict)


MODULES = (
    Module(
        "agent_bench",
        {"sales": 1_000, "queued": 10_000, "spaced": 120},
        {"sales": 30, "queued": 1_000, "spaced": 3},
    ),
    Module("receipts_print"),
    Module("passthrough", {}, {"jobs": 20}),
    Module("printer_down", {"sales": 100}, {"sales": 20}),
    Module("logo_raster"),
    Module("journal_scale", {"sizes": (10_000, 100_000)}, {"sizes": (1_000,)}),
)


def one_core() -> list[str]:
    """The command prefix that pins a process (and what it starts) to one core."""
    return agent_process.pinned_to(str(min(os.sched_getaffinity(0))))


def cores_apart() -> tuple[list[str], dict[str, str]]:
    """On every core: the module's process (the POS, the sandbox, the baselines) pinned to
    the lowest CPU, and the agents it starts told the highest (``AGENT_CPU_ENV``).

    The agent keeps its threads on one CPU (``[process] cpu``); left to land where it
    started, it shared a core with the benchmark's own process in some runs and not in
    others, and a card sale's p50 fell into two groups (about 7.5 and 10.5 ms) whatever
    the code. Named CPUs take that cause away and say what the column is: a till whose
    agent has a core of its own, the POS on the other. (Runs still move with the machine:
    by a fifth to a third on the 2-vCPU machine of bench/README.md.)"""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return [], {}
    return agent_process.pinned_to(str(cpus[0])), {agent_process.AGENT_CPU_ENV: str(cpus[-1])}


def cores_label(pinned: bool) -> str:
    count = 1 if pinned else len(os.sched_getaffinity(0))
    return "one core" if count == 1 else f"{count} cores"


def run_modules(names: list[str], *, quick: bool, pinned: bool) -> list[Figure]:
    """Each named module in a child process (pinned to one core with ``pinned``), followed
    by its peak resident memory against that of a process that only imports the libraries."""
    prefix, env = (one_core(), {}) if pinned else cores_apart()
    floor = float(
        subprocess.run(
            [*prefix, sys.executable, "-c", IMPORTS_ONLY],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    figures: list[Figure] = []
    for name in names:
        with tempfile.TemporaryDirectory() as directory:
            out = Path(directory) / "figures.json"
            command = [*prefix, sys.executable, "-m", "bench.runner", name, str(out)]
            subprocess.run(
                [*command, *(["--quick"] if quick else [])],
                check=True,
                env={**os.environ, **env},
            )
            result = json.loads(out.read_text(encoding="utf-8"))
        figures += [Figure.from_json(row) for row in result["figures"]]
        whose = "agent process" if result["agent"] else "benchmark process (in-process)"
        figures.append(
            Figure(
                f"peak resident memory, {name}: {whose}",
                result["peak_mb"],
                floor,
                "MB",
                "imports only",
                MEMORY if result["agent"] else None,  # the benchmark's own is not the till's
            )
        )
    return figures


def merged_table(columns: dict[str, list[Figure]]) -> str:
    """One row per measure, one value | baseline | ratio group per column (same run each)."""
    labels = list(columns)
    head = (
        "| measure | " + " | ".join(f"{label}: value | baseline | ratio" for label in labels) + " |"
    )
    lines = [head, "|---|" + "---|---|---|" * len(labels)]
    by_name = [{figure.name: figure for figure in figures} for figures in columns.values()]
    for column, named in zip(columns.values(), by_name, strict=True):
        if len(named) < len(column):  # rows are matched by name: two would be one
            names = [figure.name for figure in column]
            twice = sorted({name for name in names if names.count(name) > 1})
            raise ValueError(f"two figures share a name, so the table would drop one: {twice}")
    for name in dict.fromkeys(f.name for figures in columns.values() for f in figures):
        cells = []
        for figures in by_name:
            figure = figures.get(name)
            cells.append(figure.cells() if figure else "- | - | -")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goals_table(columns: dict[str, list[Figure]]) -> str:
    """One row per figure with a goal: in each column the median of the rounds' judged
    quantity (the ratio, or the value over the baseline), their lowest and highest, and in
    how many rounds the goal was met. The verdict is the median's: one round of a noisy
    machine neither meets a goal nor misses it."""
    labels = list(columns)
    lines = [
        "| figure | goal | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    by_name = [{figure.name: figure for figure in figures} for figures in columns.values()]
    for name in dict.fromkeys(f.name for figures in columns.values() for f in figures):
        first = next(named[name] for named in by_name if name in named)
        if first.goal is None:
            continue
        goal = first.goal
        cells = [_verdict(named[name], goal) if name in named else "-" for named in by_name]
        lines.append(f"| {name} | {goal.says(first.unit)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(figure: Figure, goal: Goal) -> str:
    judged = [goal.judged(value, baseline) for value, baseline in figure.pairs]
    middle = median(judged)
    met = sum(goal.met(one) for one in judged)
    spread = f" ({min(judged):.2f}-{max(judged):.2f})" if len(judged) > 1 else ""
    unit = f" {figure.unit} over" if goal.kind == "over" else ""  # else a ratio
    return (
        f"{middle:.2f}{unit}{spread}: {'met' if goal.met(middle) else 'missed'}, "
        f"{met} of {len(judged)} round{'s' if len(judged) > 1 else ''}"
    )


def _child(argv: list[str]) -> int:
    """``python -m bench.runner NAME OUT [--quick]``: one module, its figures to OUT."""
    parser = argparse.ArgumentParser(description="run one benchmark module (the runner's child)")
    parser.add_argument("name", choices=[module.name for module in MODULES])
    parser.add_argument("out", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    module = next(module for module in MODULES if module.name == args.name)
    run = importlib.import_module(f"bench.{module.name}").run
    figures: list[Figure] = run(**(module.quick if args.quick else module.full))
    own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result = {
        "figures": [dataclasses.asdict(figure) for figure in figures],
        "agent": bool(agent_process.PEAKS_MB),
        "peak_mb": max(agent_process.PEAKS_MB, default=own_mb),
    }
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
