"""The ``--json`` answers of ``register-agent status`` and ``doctor``: one JSON object on
stdout, for a monitoring check or a fleet tool rather than a person.

The shapes are a contract (docs/machine-readable.md): every field is always present (null
when unknown), a field is never renamed or retyped within a ``schema`` number, and a new
field may appear without one. The prose commands keep their own words; this module only
reshapes what they found, so the two never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from register_agent import __version__

if TYPE_CHECKING:
    from register_agent.commands.doctor.check import Check

SCHEMA = 1
#: status's exit code -> the state its JSON names (the monitoring-plugin states)
STATUS_STATES = {0: "healthy", 1: "degraded", 2: "not_running", 3: "unknown"}


def status_answer(
    code: int, *, listen: str | None, reason: str | None, till: dict[str, Any] | None
) -> str:
    """``status --json``: the exit code, its state, why it is not healthy, and the till's
    own fields when the agent answered (``till`` is ``GET /v1/status``'s body)."""
    answer = {
        "schema": SCHEMA,
        "command": "status",
        "version": __version__,
        "exit_code": code,
        "state": STATUS_STATES[code],
        "reason": reason,
        "listen": listen,
        "till": None if till is None else _till(till),
    }
    return json.dumps(answer, indent=2, ensure_ascii=False)


def _till(status: dict[str, Any]) -> dict[str, Any]:
    printer = str(status.get("printer", "unknown"))
    if printer.startswith("none"):  # "none (the POS prints)"
        printer_state, printer_detail = "none", printer.removeprefix("none").strip(" ()") or None
    elif printer.startswith("not checked yet"):
        printer_state, printer_detail = "not_checked", None
    else:  # "paper out: Printer is out of paper: put in a new roll."
        state, _, detail = printer.partition(":")
        printer_state, printer_detail = state.strip().replace(" ", "_"), detail.strip() or None
    return {
        "register_api": status.get("register_api", "unknown"),
        "journal": status.get("journal", "ok"),
        "outbox": {
            "pending": int(status.get("outbox_pending", 0)),
            "oldest_age_s": status.get("outbox_oldest_age_s"),
            "review": int(status.get("outbox_review", 0)),
            "dead": int(status.get("outbox_dead", 0)),
        },
        "claims": {
            "unconfirmed": int(status.get("claims_unconfirmed", 0)),
            "review": int(status.get("claims_review", 0)),
        },
        "printer": {"state": printer_state, "detail": printer_detail},
        "readers": [_reader(line) for line in status.get("readers", ())],
        "alerts": list(status.get("alerts", ())),
    }


def _reader(line: str) -> dict[str, Any]:
    # "counter: ok" / "counter: down (unplugged)"
    name, _, rest = line.partition(": ")
    state, _, detail = rest.partition(" ")
    return {"name": name, "state": state, "detail": detail.strip("()") or None}


def doctor_answer(checks: Sequence[Check], code: int) -> str:
    """``doctor --json``: every check with its verdict, detail and fix."""
    failures = sum(check.verdict == "FAIL" for check in checks)
    answer = {
        "schema": SCHEMA,
        "command": "doctor",
        "version": __version__,
        "exit_code": code,
        "ok": failures == 0,
        "failures": failures,
        "checks": [
            {
                "name": check.name,
                "verdict": check.verdict,
                "detail": check.detail,
                "fix": check.fix or None,
            }
            for check in checks
        ],
    }
    return json.dumps(answer, indent=2, ensure_ascii=False)
