"""The pass-through's counters: every job relayed, those that got a loyalty block, and those
passed to the printer untouched, by reason. The relay's threads count; ``status`` (through
``TillHealth``), the metrics, ``doctor`` and the status ticket read them. The running agent
also writes them to ``passthrough.json`` in the state directory after each job, so the
commands that do not talk to the agent (``doctor``, ``print-test --status-ticket``) can
say what the last run did.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, Metric

from register_agent.counter.messages import PassthroughFigures

log = logging.getLogger(__name__)

FIGURES_FILE = "passthrough.json"


class PassthroughCounters:
    """Counts jobs; safe to call from the relay's threads and read from the event loop."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._relayed = 0
        self._with_block = 0
        self._passed: dict[str, int] = {}
        self._file = state_dir / FIGURES_FILE if state_dir is not None else None
        # The file is written on a thread of its own: a relay's thread counts a job at its
        # cut, before it sends the rest, and a write and rename there (0.2 ms and more on
        # a busy disk) would hold the receipt up for news nobody waits for.
        self._unsaved = threading.Event()
        self._saving = threading.Lock()
        self._saver: threading.Thread | None = None

    def job_done(self, passed_reason: str | None) -> None:
        """One job reached the printer: with a block (``None``) or untouched, and why."""
        with self._lock:
            self._relayed += 1
            if passed_reason is None:
                self._with_block += 1
            else:
                self._passed[passed_reason] = self._passed.get(passed_reason, 0) + 1
            if self._file is not None and self._saver is None:
                self._saver = threading.Thread(
                    target=self._keep_saving, name="passthrough-figures", daemon=True
                )
                self._saver.start()
        self._unsaved.set()

    def flush(self) -> None:
        """Write the figures now (the relay's stop; a test that reads the file)."""
        with self._saving:
            self._unsaved.clear()
            self._save(self.figures())

    def _keep_saving(self) -> None:
        while self._unsaved.wait():
            self.flush()

    def figures(self) -> PassthroughFigures:
        with self._lock:
            return self._figures()

    def _figures(self) -> PassthroughFigures:
        return PassthroughFigures(
            relayed=self._relayed, with_block=self._with_block, passed=dict(self._passed)
        )

    def _save(self, figures: PassthroughFigures) -> None:
        """Best effort: a full disk must not stop printing, and the figures are news only."""
        if self._file is None:
            return
        temporary = self._file.with_suffix(".tmp")
        try:
            temporary.write_text(figures.model_dump_json(), encoding="utf-8")
            os.replace(temporary, self._file)
        except OSError as exc:
            log.debug("passthrough: figures not saved (%s)", exc)
            with contextlib.suppress(OSError):
                temporary.unlink()


def saved_figures(state_dir: Path) -> PassthroughFigures | None:
    """What the last running agent counted (for ``doctor`` and the status ticket)."""
    try:
        return PassthroughFigures.model_validate(
            json.loads((state_dir / FIGURES_FILE).read_text(encoding="utf-8"))
        )
    except (OSError, ValueError):
        return None


def figures_line(figures: PassthroughFigures) -> str:
    """One line for people: ``12 jobs relayed, 9 with a loyalty block, 3 untouched
    (no_total 2, copy 1)``."""
    untouched = sum(figures.passed.values())
    line = f"{figures.relayed} jobs relayed, {figures.with_block} with a loyalty block"
    if untouched:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(figures.passed.items()))
        line += f", {untouched} untouched ({reasons})"
    return line


def metric_families(figures: PassthroughFigures) -> Iterable[Metric]:
    """The figures as Prometheus counters, for the agent's metrics (``runtime/metrics.py``)."""
    jobs = CounterMetricFamily(
        "register_agent_passthrough_jobs",
        "Jobs the till printed through the agent: with_block (a loyalty block went in before "
        "the cut) or passed (to the printer untouched, by reason)",
        labels=["outcome", "reason"],
    )
    jobs.add_metric(["with_block", ""], figures.with_block)
    for reason, count in sorted(figures.passed.items()):
        jobs.add_metric(["passed", reason], count)
    yield jobs
    yield CounterMetricFamily(
        "register_agent_passthrough_relayed",
        "Jobs the till printed through the agent",
        figures.relayed,
    )
