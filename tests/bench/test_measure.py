"""The benchmarks' rounds and goals (``bench.measure``, ``bench.runner``): a figure measured
several times is judged by the median of its rounds, each round's value against that same
round's baseline."""

from __future__ import annotations

import dataclasses
import json

from bench.measure import Figure, Goal, merged
from bench.runner import goals_table


def _round(value: float, baseline: float, goal: Goal | None = None) -> list[Figure]:
    return [Figure("sale answer, p99", value, baseline, "ms", "floor", goal)]


def test_a_merged_ratio_is_the_median_of_each_rounds_own_ratio() -> None:
    # rounds whose value and baseline moved together: the ratio of the medians (4 / 2)
    # would pair one round's value with another's baseline
    rounds = [_round(2.0, 1.0), _round(4.0, 4.0), _round(9.0, 2.0)]

    (figure,) = merged(rounds)

    assert figure.rounds == ((2.0, 1.0), (4.0, 4.0), (9.0, 2.0))
    assert (figure.value, figure.baseline) == (4.0, 2.0)
    assert figure.ratios == [2.0, 1.0, 4.5]
    assert figure.ratio == 2.0
    assert figure.cells() == "4 ms | floor: 2 ms | 2.00 (1.00-4.50)"


def test_a_figure_merged_keeps_the_order_and_a_name_missing_from_a_round() -> None:
    first = [Figure("a", 1, 1, "s", "x"), Figure("b", 2, 1, "s", "x")]
    second = [Figure("b", 3, 1, "s", "x")]

    a, b = merged([first, second])

    assert (a.name, a.rounds) == ("a", ((1, 1),))
    assert (b.name, b.ratios) == ("b", [2.0, 3.0])


def test_a_goal_is_judged_by_the_median_round_and_counts_the_rounds_that_met_it() -> None:
    twice = Goal("at most", 2)
    spiky = merged([_round(3.0, 1.0, twice), _round(1.5, 1.0, twice), _round(1.9, 1.0, twice)])
    slow = merged([_round(3.0, 1.0, twice), _round(2.5, 1.0, twice), _round(1.9, 1.0, twice)])

    table = goals_table({"2 cores": spiky, "one core": slow})

    assert table.splitlines()[2] == (
        "| sale answer, p99 | ratio at most 2 | 1.90 (1.50-3.00): met, 2 of 3 rounds"
        " | 2.50 (1.90-3.00): missed, 1 of 3 rounds |"
    )


def test_a_goal_over_the_baseline_and_one_at_least_are_judged_their_own_way() -> None:
    scan = Figure("scan", 7.0, 1.5, "ms", "floor", Goal("over", 5))
    drain = Figure("drain", 300, 400, "sales/s", "bare loop", Goal("at least", 0.8))
    plain = Figure("journal size", 3, 1, "MB", "empty")

    rows = goals_table({"one core": [scan, drain, plain]}).splitlines()[2:]

    assert rows == [
        "| scan | at most 5 ms over the baseline | 5.50 ms over: missed, 0 of 1 round |",
        "| drain | ratio at least 0.8 | 0.75: missed, 0 of 1 round |",
    ]


def test_a_figure_crosses_from_the_modules_process_whole() -> None:
    figure = merged([_round(2.0, 1.0, Goal("at least", 0.8)), _round(3.0, 1.0)])[0]

    written = json.loads(json.dumps(dataclasses.asdict(figure)))

    assert Figure.from_json(written) == figure
