"""The doctor's round: every check in order, printed one line each, and the exit status (1
when anything failed).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from register_agent.commands.doctor.api_checks import api_checks
from register_agent.commands.doctor.check import Check, failed, passed
from register_agent.commands.doctor.device_checks import (
    logo_check,
    no_reader,
    printer_check,
    reader_check,
)
from register_agent.commands.doctor.passthrough_check import passthrough_check
from register_agent.commands.doctor.till_checks import journal_checks, state_writable
from register_agent.commands.machine_readable import doctor_answer
from register_agent.commands.setup_checks import missing_config_file
from register_agent.config import AgentConfig
from register_agent.errors import ConfigError, RegisterAgentError
from register_agent.runtime.cpu import CpuSetting, chosen_cpu


def run_doctor(
    load: Callable[[], AgentConfig], *, config_file: Path | None = None, as_json: bool = False
) -> int:
    """Print every check (as lines, or as one JSON object); 0 when none failed, 1 otherwise."""
    checks = diagnose(load, config_file=config_file)
    code = 1 if any(check.verdict == "FAIL" for check in checks) else 0
    if as_json:
        print(doctor_answer(checks, code), flush=True)
        return code
    for check in checks:
        print(check.line(), flush=True)
    failures = sum(check.verdict == "FAIL" for check in checks)
    print(f"{failures} problem{'s' if failures != 1 else ''} found" if failures else "all good")
    return code


def diagnose(load: Callable[[], AgentConfig], *, config_file: Path | None = None) -> list[Check]:
    """Every check in order; ``config_file`` is the file ``load`` reads (None: not checked)."""
    try:
        config = load()
    except RegisterAgentError as exc:
        fix = "correct the config file (see config/register-agent.example.toml)"
        return [failed("config", str(exc), fix)]
    checks = [_config_check(config, config_file), cpu_check(config.process.cpu)]
    checks += asyncio.run(api_checks(config))
    checks += [state_writable(config.state.directory), *journal_checks(config)]
    checks += [reader_check(reader) for reader in config.readers] or [no_reader()]
    checks += [asyncio.run(printer_check(config)), logo_check(config)]
    if (relay := passthrough_check(config)) is not None:
        checks.append(relay)
    return checks


def _config_check(config: AgentConfig, config_file: Path | None) -> Check:
    api = f"Register API {config.api.version} at {config.api.base_url}"
    if config_file is None:
        return passed("config", api)
    if missing := missing_config_file(config_file):
        # the checks below still run, on the defaults: they say what such a till would do
        return failed("config", *missing)
    return passed("config", f"{config_file}: {api}")


def cpu_check(setting: CpuSetting, allowed: set[int] | None = None) -> Check:
    """``[process] cpu`` against the CPUs this command may use (``allowed``: those of this
    process), which are the service's unless its unit narrows them (``CPUAffinity=``).
    A number outside them stops the agent at start: said here first."""
    cpus = os.sched_getaffinity(0) if allowed is None else allowed
    listed = ",".join(str(number) for number in sorted(cpus))
    try:
        chosen = chosen_cpu(setting, cpus, None)
    except ConfigError as exc:
        return failed("cpu", str(exc), "correct [process] cpu in the config file")
    if chosen is None:
        return passed("cpu", f"the agent runs where the kernel puts it, on {listed}")
    if setting == "one":  # which one is known when it starts
        return passed("cpu", f"the agent keeps to the CPU it starts on, one of {listed}")
    return passed("cpu", f"the agent keeps to CPU {chosen} of {listed}")
