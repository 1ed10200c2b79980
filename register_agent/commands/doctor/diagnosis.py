"""The doctor's round: every check in order, printed one line each, and the exit status (1
when anything failed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from register_agent.commands.doctor.api_checks import api_checks
from register_agent.commands.doctor.check import Check, failed, passed
from register_agent.commands.doctor.device_checks import printer_check, reader_check
from register_agent.commands.doctor.till_checks import journal_checks, state_writable
from register_agent.config import AgentConfig
from register_agent.errors import RegisterAgentError


def run_doctor(load: Callable[[], AgentConfig], *, contact: str | None = None) -> int:
    """Print every check; 0 when none failed, 1 otherwise."""
    checks = diagnose(load, contact=contact)
    for check in checks:
        print(check.line(), flush=True)
    failures = sum(check.verdict == "FAIL" for check in checks)
    print(f"{failures} problem{'s' if failures != 1 else ''} found" if failures else "all good")
    return 1 if failures else 0


def diagnose(load: Callable[[], AgentConfig], *, contact: str | None = None) -> list[Check]:
    try:
        config = load()
    except RegisterAgentError as exc:
        fix = "correct the config file (see config/register-agent.example.toml)"
        return [failed("config", str(exc), fix)]
    checks = [passed("config", f"Register API {config.api.version} at {config.api.base_url}")]
    checks += asyncio.run(api_checks(config, contact))
    checks += [state_writable(config.state.directory), *journal_checks(config)]
    checks += [reader_check(reader) for reader in config.readers]
    checks.append(asyncio.run(printer_check(config)))
    return checks
