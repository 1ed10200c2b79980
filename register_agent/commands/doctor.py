"""``register-agent doctor``: what an installer runs at the till to find what is wrong. One
line per check, PASS or FAIL with the fix (or SKIP with what it could not look at); the
exit status is 1 when anything failed. Read-only: it changes nothing a running agent uses,
and it never prints a secret (the key and the token secret are only said to be set).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from register_agent.config import AgentConfig, ReaderConfig
from register_agent.errors import JournalError, LoyaltyApiError, RegisterAgentError
from register_agent.journal import OutboxSummary
from register_agent.journal.admin import journal_path, read_only
from register_agent.journal.queries import outbox_summary
from register_agent.journal.schema import MIGRATIONS
from register_agent.loyalty.checks import ApiProbe, operation_attribute_seen, probe_api

Verdict = Literal["PASS", "FAIL", "SKIP"]
MIN_FREE_BYTES = 100 * 1024 * 1024  # a day of a busy till is a few MB; an SD card fills up
MAX_CLOCK_SKEW_S = 120.0  # loyalty tokens carry a timestamp the server checks
EARLIEST_PLAUSIBLE = datetime(2025, 1, 1, tzinfo=UTC)  # a Pi without RTC boots in 1970
SERVICE_USER = "register-agent"  # the unit's User= (sysusers.d)


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f"\n       fix: {self.fix}" if self.fix and self.verdict != "PASS" else ""
        return f"{self.verdict}  {self.name}: {self.detail}{fix}"


def passed(name: str, detail: str) -> Check:
    return Check(name, "PASS", detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, "FAIL", detail, fix)


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
    checks += asyncio.run(_api_checks(config, contact))
    checks += [_state_writable(config.state.directory), *_journal_checks(config)]
    checks += [_reader_check(reader) for reader in config.readers]
    checks.append(asyncio.run(_printer_check(config)))
    return checks


# --- the Register API -------------------------------------------------------------------


async def _api_checks(config: AgentConfig, contact: str | None) -> list[Check]:
    api = config.api
    if api.api_key is None:
        fix = "store the register's API key as the systemd credential api-key"
        return [failed("API key", "not set", fix), _clock_check(None, _journal_time(config))]
    probe = await probe_api(api)
    checks = [_key_check(probe), _clock_check(probe.server_date, _journal_time(config))]
    if api.version == "v3":
        checks.append(_token_secret_check(config))
        checks.append(await _attribute_check(config, contact, probe))
    return checks


def _key_check(probe: ApiProbe) -> Check:
    if probe.state == "accepted":
        return passed("API key", f"accepted; {probe.detail}")
    if probe.state == "refused":
        fix = (
            "create a new register API key in the Business Dashboard, store it as the "
            "credential api-key and run systemctl reload register-agent"
        )
        return failed("API key", f"refused by the Register API ({probe.detail})", fix)
    fix = "check the network, [api] base_url and any proxy; the till works offline meanwhile"
    return failed("API key", f"not checked: the Register API does not answer ({probe.detail})", fix)


def _token_secret_check(config: AgentConfig) -> Check:
    if config.api.loyalty_token_secret is not None:
        return passed("loyalty-token secret", "set")
    fix = (
        "store the account's loyalty-token secret (Business Dashboard) as the credential "
        "loyalty-token-secret; without it receipts of sales without a card get no QR code"
    )
    return failed("loyalty-token secret", "not set", fix)


async def _attribute_check(config: AgentConfig, contact: str | None, probe: ApiProbe) -> Check:
    name = "attribute agent_operation_id"
    if probe.state != "accepted":
        return Check(name, "SKIP", "the Register API did not accept the key; not checked")
    contact = contact or _recent_customer(config)
    if contact is None:
        return Check(
            name,
            "SKIP",
            "no customer known on this till yet to read loyalty transactions of; "
            "run doctor --contact CONTACT_UUID (any customer with a transaction)",
        )
    try:
        seen = await operation_attribute_seen(config.api, contact)
    except LoyaltyApiError as exc:
        return Check(name, "SKIP", f"the contact's loyalty transactions cannot be read ({exc})")
    if seen.present is None:
        return Check(name, "SKIP", "that customer has no loyalty transactions to tell by")
    if seen.present:
        return passed(name, f"present on the account's loyalty transactions ({seen.transactions})")
    fix = (
        "create the loyalty-transaction attribute agent_operation_id (type text) in the "
        "Leat Business Dashboard (Settings > Attributes > Loyalty transactions); until then "
        "the Register API refuses the agent's credit receptions"
    )
    return failed(name, f"missing on all {seen.transactions} transactions read", fix)


def _recent_customer(config: AgentConfig) -> str | None:
    try:
        with read_only(journal_path(config.state.directory)) as db:
            row = db.execute(
                "SELECT customer_key FROM operations WHERE customer_key LIKE 'customer:%'"
                " ORDER BY seq DESC LIMIT 1"
            ).fetchone()
    except JournalError:
        return None
    # till.customer_key: "customer:<contact uuid>" once the card is resolved
    return None if row is None else str(row[0]).removeprefix("customer:")


def _journal_time(config: AgentConfig) -> float | None:
    """The latest moment the journal has written (a clock set back lands before it)."""
    try:
        with read_only(journal_path(config.state.directory)) as db:
            latest = db.execute("SELECT MAX(updated_at) FROM operations").fetchone()[0]
    except JournalError:
        return None
    return None if latest is None else float(latest)


def _clock_check(server_date: datetime | None, journal_time: float | None) -> Check:
    """Against the API's Date header when it answers; always against a sane range and the
    journal's last write (a Pi without RTC may boot with the time of its last shutdown)."""
    name = "clock"
    now = datetime.now(UTC)
    fix = "enable time sync (timedatectl set-ntp true) or set the date; a Pi has no RTC"
    if now < EARLIEST_PLAUSIBLE:
        return failed(name, f"this till says {now:%Y-%m-%d %H:%M} UTC: implausible", fix)
    if journal_time is not None and journal_time - now.timestamp() > MAX_CLOCK_SKEW_S:
        behind = journal_time - now.timestamp()
        return failed(name, f"{behind:.0f} s behind the journal's last write: set back", fix)
    if server_date is None:
        return passed(name, f"{now:%Y-%m-%d %H:%M:%S} UTC (no server Date header to compare)")
    skew = (now - server_date).total_seconds()
    detail = f"{skew:+.0f} s against the Register API's Date header"
    if abs(skew) > MAX_CLOCK_SKEW_S:
        return failed(name, f"{detail}: loyalty tokens would be refused", fix)
    return passed(name, detail)


# --- the state directory and the journal --------------------------------------------------


def _state_writable(directory: Path) -> Check:
    name = "state directory"
    fix = (
        f"create {directory} owned by the service user (systemd StateDirectory= does it) "
        "or correct [state] directory"
    )
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
            pass
    except OSError as exc:
        return failed(name, f"{directory} is not writable ({exc.strerror})", fix)
    return passed(name, f"{directory} writable")


def _journal_checks(config: AgentConfig) -> list[Check]:
    directory = config.state.directory
    path = journal_path(directory)
    if not directory.is_dir():
        return [Check("journal", "SKIP", f"no state directory {directory} (see above)")]
    checks = [_free_space(directory)]
    if not path.exists():
        checks.append(passed("journal", f"none yet at {path} (the agent creates it at start)"))
        return checks
    try:
        with read_only(path) as db:
            mode = str(db.execute("PRAGMA journal_mode").fetchone()[0])
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            integrity = str(db.execute("PRAGMA quick_check").fetchone()[0])
            summary = outbox_summary(db, time.time())
    except JournalError as exc:
        fix = "check the file's owner and permissions; restore a backup if it is damaged"
        return [*checks, failed("journal", str(exc), fix)]
    checks.append(_journal_pragmas(mode, version, integrity))
    checks.append(_outbox_check(config, summary))
    return checks


def _free_space(directory: Path) -> Check:
    try:
        free = shutil.disk_usage(directory).free
    except OSError as exc:
        return failed("free space", f"{directory}: {exc.strerror}", "create the state directory")
    detail = f"{free / 1e6:.0f} MB free in {directory}"
    if free < MIN_FREE_BYTES:
        return failed("free space", detail, "free space on that file system (old logs?)")
    return passed("free space", detail)


def _journal_pragmas(mode: str, version: int, integrity: str) -> Check:
    # synchronous=FULL is a per-connection setting the agent applies (and verifies) on
    # every open; the file itself can only tell its journal mode, version and integrity
    detail = f"journal_mode={mode}, schema {version}/{len(MIGRATIONS)}, quick_check {integrity}"
    if mode.lower() != "wal" or integrity != "ok" or version > len(MIGRATIONS):
        fix = "stop the agent, move the journal aside, restore a backup or start afresh"
        return failed("journal", detail, fix)
    return passed("journal", detail)


def _outbox_check(config: AgentConfig, summary: OutboxSummary) -> Check:
    waiting = summary.pending + summary.in_flight + summary.unknown
    age = summary.oldest_pending_age_s
    detail = f"{waiting} waiting" + (f", oldest {age / 60:.0f} min" if age is not None else "")
    detail += f", {summary.review} in review, {summary.dead} refused"
    caps = config.outbox
    if summary.review:
        return failed("outbox", detail, "register-agent review (check each customer, decide)")
    if waiting > caps.max_pending or (age is not None and age > caps.max_age_s):
        fix = "check the API checks above; the agent sends on its own once the API answers"
        return failed("outbox", detail, fix)
    return passed("outbox", detail)


# --- devices -------------------------------------------------------------------------------


def _reader_check(reader: ReaderConfig) -> Check:
    name = f"reader {reader.name}"
    path = getattr(reader, "port", None) or getattr(reader, "device", None)
    if path is None:
        return passed(name, f"{reader.kind} (no device to check)")
    device = Path(str(path))
    if not device.exists():
        fix = "plug the reader in, check the udev rule's name, or correct the config"
        return failed(name, f"{device} does not exist", fix)
    user, allowed = _service_user_may_use(device)
    if not allowed:
        fix = "give the device to the service user's group (dialout / input) by a udev rule"
        return failed(name, f"{device} is not readable and writable by {user}", fix)
    return passed(name, f"{device} present, readable by {user}")


def _service_user_may_use(device: Path) -> tuple[str, bool]:
    """Whether the service user may open ``device``: the user running doctor, or (doctor
    run as root) the unit's ``register-agent`` user, judged by owner, groups and mode."""
    import grp  # noqa: PLC0415 (POSIX only)
    import pwd  # noqa: PLC0415

    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name, os.access(device, os.R_OK | os.W_OK)
    try:
        account = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return "root (no register-agent user on this machine)", True
    groups = {account.pw_gid} | {g.gr_gid for g in grp.getgrall() if SERVICE_USER in g.gr_mem}
    info = device.stat()
    if info.st_uid == account.pw_uid:
        mode = info.st_mode >> 6
    elif info.st_gid in groups:
        mode = info.st_mode >> 3
    else:
        mode = info.st_mode
    return SERVICE_USER, mode & 0o6 == 0o6


async def _printer_check(config: AgentConfig) -> Check:
    if config.printer is None:
        return passed("printer", "none configured (the POS prints)")
    from register_agent.runtime.devices import open_printer  # noqa: PLC0415 (loads the drivers)

    printer = open_printer(config.printer)
    try:
        status = await asyncio.wait_for(printer.status(), config.printer.status_timeout_s + 3)
    except (RegisterAgentError, TimeoutError) as exc:
        return failed("printer", f"{config.printer.kind}: {exc}", "check cable, power, address")
    finally:
        await printer.close()
    detail = f"{config.printer.kind}: {status.state}" + (
        f" ({status.detail})" if status.detail else ""
    )
    if status.can_print:
        return passed("printer", detail)
    fix = f"{status.message} If it is on and ready, check [printer] in the config."
    return failed("printer", detail, fix)
