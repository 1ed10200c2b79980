"""``python -m bench``: run the benchmarks and print the results table (markdown).

``--cores 1`` pins every module's process to one core; ``--cores both`` runs them on all
cores, then on one, and prints the two side by side (``bench/runner.py``). ``--rounds N``
runs it all N times, the columns taking turns, and judges each goal by the median of the
rounds (``bench.measure.merged``), then prints the figures that have a goal and their
verdict."""

from __future__ import annotations

import argparse
import platform
import sys
import time

from bench.measure import Figure, merged
from bench.runner import MODULES, cores_label, goals_table, merged_table, run_modules

HEADER = "| measure | value | baseline (same run) | ratio |\n|---|---|---|---|"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--cores",
        choices=("all", "1", "both"),
        default="all",
        help="every core this machine gives (all), pinned to one (1, with taskset), or both",
    )
    names = [module.name for module in MODULES]
    parser.add_argument(
        "--only",
        nargs="+",
        choices=names,
        default=names,
        metavar="MODULE",
        help=f"run only these modules (of {', '.join(names)})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="run everything N times, the columns taking turns; each ratio is the median of "
        "the rounds' ratios, with their lowest and highest",
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds takes a whole number of one or more")
    modes = {"all": (False,), "1": (True,), "both": (False, True)}[args.cores]
    started = time.strftime("%Y-%m-%d %H:%M")
    rounds: dict[str, list[list[Figure]]] = {cores_label(pinned): [] for pinned in modes}
    for number in range(1, args.rounds + 1):  # round by round: a slow spell falls on both
        for pinned in modes:
            began = time.monotonic()
            figures = run_modules(args.only, quick=args.quick, pinned=pinned)
            label = cores_label(pinned)
            rounds[label].append(figures)
            minutes = (time.monotonic() - began) / 60
            # a long run shows where it is, and a round that fails later leaves these
            print(
                f"round {number} of {args.rounds}, {label}, {minutes:.1f} min:\n"
                + goals_table({label: figures}),
                file=sys.stderr,
                flush=True,
            )
    columns = {label: merged(each) for label, each in rounds.items()}
    print(
        f"run {started} to {time.strftime('%H:%M')} on {platform.machine()}, "
        f"Python {platform.python_version()}, {args.rounds} round(s)\n"
    )
    if len(columns) == 1:
        print(HEADER)
        for figure in next(iter(columns.values())):
            print(figure.row())
    else:
        print(merged_table(columns))
    print("\n" + goals_table(columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
