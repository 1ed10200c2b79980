"""``python -m bench``: run the benchmarks and print the results table (markdown).

``--cores 1`` pins every module's process to one core; ``--cores both`` runs them on all
cores, then on one, and prints the two side by side (``bench/runner.py``)."""

from __future__ import annotations

import argparse
import platform
import time

from bench.runner import MODULES, cores_label, merged_table, run_modules

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
    args = parser.parse_args()
    modes = {"all": (False,), "1": (True,), "both": (False, True)}[args.cores]
    columns = {
        cores_label(pinned): run_modules(args.only, quick=args.quick, pinned=pinned)
        for pinned in modes
    }
    print(
        f"run {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, "
        f"Python {platform.python_version()}\n"
    )
    if len(columns) == 1:
        print(HEADER)
        for figure in next(iter(columns.values())):
            print(figure.row())
    else:
        print(merged_table(columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
