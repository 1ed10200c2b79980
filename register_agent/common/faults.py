"""What each long-running worker (outbox, printer, housekeeping) last failed at, until it
gets through again: the workers survive a failing disk or journal and try again with a
backoff, and this is how ``status``, the metrics and systemd's status line hear of it
instead of a worker dying unseen.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class WorkerFaults:
    """One line per worker in trouble; a worker reports each failure and clears on success."""

    def __init__(self) -> None:
        self._faults: dict[str, str] = {}
        self._failures: dict[str, int] = {}

    def report(self, worker: str, problem: str, *, first_s: float, max_s: float) -> float:
        """Note the failure (logged when it is news) and return how long the worker waits
        before trying again: ``first_s``, doubling with each failure in a row, ``max_s`` at
        most."""
        if self._faults.get(worker) != problem:
            log.error("%s: %s; trying again", worker, problem)
        self._faults[worker] = problem
        failures = self._failures[worker] = self._failures.get(worker, 0) + 1
        return float(min(first_s * 2 ** (failures - 1), max_s))

    def clear(self, worker: str) -> None:
        self._failures.pop(worker, None)
        if self._faults.pop(worker, None) is not None:
            log.warning("%s: working again", worker)

    def current(self) -> dict[str, str]:
        """Worker name -> its last failure, for those that have not got through since."""
        return dict(self._faults)
