"""Fault injection for the sandbox's API routes (``POST /_sandbox/faults``).

Several faults may be active at once; each API request takes the first active fault
whose ``paths`` / ``methods`` match and whose ``count`` / ``rate`` lets it fire. A fault
with a ``seed`` draws its rate from its own random generator, so a test sees the same
sequence every run. ``mode: off`` (and ``/_sandbox/reset``) clears them all, and lets the
requests a latency fault is holding go on at once: a test holds a read with a long latency,
looks at what the agent did meanwhile, then releases it (no guessing how long is enough).
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

MODES = (
    "error_503",  # maintenance: 503 with a non-JSON body, nothing applied
    "error_429",  # throttled: 429 with Retry-After, nothing applied
    "error_500",  # server error before anything is applied
    "in_progress_60001",  # 400/60001 "credit reception creating in progress", nothing applied
    "error_1003",  # 400/1003 "invalid input": refused for good, nothing applied
    "latency",  # answer after latency_ms (for credit receptions: while the customer is locked)
    "timeout",  # hold the request hold_s seconds, then close it unanswered and unapplied
    "drop_after_commit",  # apply the change, then close the connection with no response
    "error_500_after_commit",  # apply the change, then answer 500 as if it had failed
    "pos_transaction_gone",  # forget the POS transaction the request names: 1027 follows
)
_KEYS = {"mode", "rate", "count", "seed", "paths", "methods", "retry_after", "latency_ms", "hold_s"}


class FaultSpecError(ValueError):
    """A ``POST /_sandbox/faults`` body that cannot be used; the message says why."""


@dataclass
class Fault:
    mode: str
    rate: float = 1.0
    count: int | None = None
    paths: tuple[re.Pattern[str], ...] = ()
    methods: frozenset[str] = frozenset()
    retry_after: int = 1
    latency_ms: int = 500
    hold_s: float = 30.0
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random)
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method not in self.methods:
            return False
        return not self.paths or any(p.match(path) for p in self.paths)

    def fire(self) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.rate < 1.0 and self.rng.random() >= self.rate:
            return False
        if self.count is not None:
            self.count -= 1
        self.fired += 1
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "rate": self.rate,
            "count_left": self.count,
            "paths": [p.pattern for p in self.paths],
            "methods": sorted(self.methods),
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "hold_s": self.hold_s,
            "seed": self.seed,
            "fired": self.fired,
        }


class Faults:
    """The active faults of one sandbox (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cleared = threading.Condition(self._lock)
        self._clears = 0
        self._active: list[Fault] = []

    def configure(self, spec: object) -> list[dict[str, Any]]:
        """Add a fault from a JSON spec, or clear all with ``{"mode": "off"}``."""
        fault = parse_spec(spec)
        with self._lock:
            if fault is None:
                self._clear()
            else:
                self._active.append(fault)
        return self.describe()

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self._active.clear()
        self._clears += 1
        self._cleared.notify_all()

    def hold(self, seconds: float) -> None:
        """A latency fault's wait: ``seconds``, or until the faults are cleared."""
        with self._cleared:
            clears = self._clears
            self._cleared.wait_for(lambda: self._clears != clears, seconds)

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault this request meets, if any (spent count-limited faults are dropped)."""
        with self._lock:
            chosen = next((f for f in self._active if f.matches(method, path) and f.fire()), None)
            self._active = [f for f in self._active if f.count is None or f.count > 0]
            return chosen

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._active]


def parse_spec(spec: object) -> Fault | None:
    if not isinstance(spec, dict):
        raise FaultSpecError('the body must be a JSON object like {"mode": "error_503"}')
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise FaultSpecError(f"unknown keys {unknown}; known: {sorted(_KEYS)}")
    mode = spec.get("mode")
    if mode == "off":
        return None
    if mode not in MODES:
        raise FaultSpecError(f"mode must be one of {[*MODES, 'off']}, not {mode!r}")
    fault = Fault(mode=mode)
    fault.rate = _number(spec, "rate", 0.0, 1.0, fault.rate)
    if "count" in spec:
        fault.count = int(_number(spec, "count", 1, 1_000_000, 1))
    fault.retry_after = int(_number(spec, "retry_after", 0, 3600, fault.retry_after))
    fault.latency_ms = int(_number(spec, "latency_ms", 0, 600_000, fault.latency_ms))
    fault.hold_s = _number(spec, "hold_s", 0, 3600, fault.hold_s)
    fault.paths = tuple(_pattern(p) for p in _strings(spec, "paths"))
    fault.methods = frozenset(m.upper() for m in _strings(spec, "methods"))
    if spec.get("seed") is not None:
        fault.seed = int(_number(spec, "seed", -(2**63), 2**63, 0))
        fault.rng = random.Random(fault.seed)  # noqa: S311 (reproducible, not secret)
    return fault


def _number(spec: dict[str, Any], key: str, low: float, high: float, default: float) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultSpecError(f"{key} must be a number from {low} to {high}, not {value!r}")
    return float(value)


def _strings(spec: dict[str, Any], key: str) -> list[str]:
    value = spec.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FaultSpecError(f"{key} must be a list of strings")
    return value


def _pattern(text: str) -> re.Pattern[str]:
    """A path prefix or a regex, matched from the start of the path."""
    try:
        return re.compile(text)
    except re.error as exc:
        raise FaultSpecError(f"paths: {text!r} is not a valid regex: {exc}") from exc
