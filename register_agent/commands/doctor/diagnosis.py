"""The doctor's round: every check in order, printed one line each, and the exit status (1
when anything failed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from register_agent.commands.doctor.api_checks import api_checks
from register_agent.commands.doctor.check import Check, failed, passed
from register_agent.commands.doctor.device_checks import no_reader, printer_check, reader_check
from register_agent.commands.doctor.till_checks import journal_checks, state_writable
from register_agent.commands.setup_checks import missing_config_file
from register_agent.config import AgentConfig
from register_agent.errors import RegisterAgentError


def run_doctor(load: Callable[[], AgentConfig], *, config_file: Path | None = None) -> int:
    """Print every check; 0 when none failed, 1 otherwise."""
    checks = diagnose(load, config_file=config_file)
    for check in checks:
        print(check.line(), flush=True)
    failures = sum(check.verdict == "FAIL" for check in checks)
    print(f"{failures} problem{'s' if failures != 1 else ''} found" if failures else "all good")
    return 1 if failures else 0


def diagnose(load: Callable[[], AgentConfig], *, config_file: Path | None = None) -> list[Check]:
    """Every check in order; ``config_file`` is the file ``load`` reads (None: not checked)."""
    try:
        config = load()
    except RegisterAgentError as exc:
        fix = "correct the config file (see config/register-agent.example.toml)"
        return [failed("config", str(exc), fix)]
    checks = [_config_check(config, config_file)]
    checks += asyncio.run(api_checks(config))
    checks += [state_writable(config.state.directory), *journal_checks(config)]
    checks += [reader_check(reader) for reader in config.readers] or [no_reader()]
    checks.append(asyncio.run(printer_check(config)))
    return checks


def _config_check(config: AgentConfig, config_file: Path | None) -> Check:
    api = f"Register API {config.api.version} at {config.api.base_url}"
    if config_file is None:
        return passed("config", api)
    if missing := missing_config_file(config_file):
        # the checks below still run, on the defaults: they say what such a till would do
        return failed("config", *missing)
    return passed("config", f"{config_file}: {api}")
