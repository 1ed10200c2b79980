"""``python -m bench``: run the benchmarks and print the results table (markdown)."""

from __future__ import annotations

import argparse
import platform
import time

from bench import (
    agent_bench,
    journal_scale,
    logo_raster,
    passthrough,
    printer_down,
    receipts_print,
)
from bench.measure import Figure

HEADER = "| measure | value | baseline (same run) | ratio |\n|---|---|---|---|"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    sizes = (1_000,) if args.quick else (10_000, 100_000)
    figures: list[Figure] = []
    figures += agent_bench.run(
        sales=30 if args.quick else 300, queued=200 if args.quick else 10_000
    )
    figures += receipts_print.run()
    figures += passthrough.run(jobs=20 if args.quick else passthrough.JOBS)
    figures += printer_down.run(sales=20 if args.quick else 100)
    figures += logo_raster.run()
    figures += journal_scale.run(sizes)
    print(
        f"run {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, "
        f"Python {platform.python_version()}\n"
    )
    print(HEADER)
    for figure in figures:
        print(figure.row())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
