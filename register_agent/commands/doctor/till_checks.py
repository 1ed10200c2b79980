"""The doctor's checks of what the till keeps on disk: the state directory writable, room
left on its file system, the journal's mode, schema and integrity, and the outbox's queue.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from register_agent.commands.doctor.check import Check, failed, passed
from register_agent.config import AgentConfig
from register_agent.errors import JournalError, JournalNeedsDecision
from register_agent.journal import OutboxSummary, identity
from register_agent.journal.admin import journal_path, read_only
from register_agent.journal.queries import held_receipts, outbox_summary
from register_agent.journal.schema import MIGRATIONS
from register_agent.receipts.held import HELD_REPORTED_S, held_alert

MIN_FREE_BYTES = 100 * 1024 * 1024  # a day of a busy till is a few MB; an SD card fills up
FULL_BYTES = 1024 * 1024  # less than this: a sale's transaction may not fit any more


def state_writable(directory: Path) -> Check:
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


def journal_checks(config: AgentConfig) -> list[Check]:
    directory = config.state.directory
    path = journal_path(directory)
    if not directory.is_dir():
        return [Check("journal", "SKIP", f"no state directory {directory} (see above)")]
    return [_free_space(directory), *_journal_file(config, path)]


def _journal_file(config: AgentConfig, path: Path) -> list[Check]:
    decide = "stop the agent, then run the command the line names"
    try:  # as the agent would find it at its start (journal/identity.py)
        marker = identity.check_before_open(path)
        if not path.exists():
            return [passed("journal", f"none yet at {path} (the agent creates it at start)")]
        with read_only(path) as db:
            mode = str(db.execute("PRAGMA journal_mode").fetchone()[0])
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            integrity = str(db.execute("PRAGMA quick_check").fetchone()[0])
            summary = outbox_summary(db, time.time())
            whose = identity.inspect(db, path, marker)
            held = held_receipts(db, time.time() - HELD_REPORTED_S)
    except JournalNeedsDecision as exc:
        return [failed("journal identity", str(exc), decide)]
    except JournalError as exc:
        cause = exc.__cause__
        if cause is not None and (damage := identity.damaged(path, cause)) is not None:
            return [failed("journal", str(damage), decide)]
        return [failed("journal", str(exc), "check the file's owner and permissions")]
    checks = [
        passed("journal identity", whose),
        _journal_pragmas(mode, version, integrity),
        _outbox_check(config, summary),
    ]
    if (alert := held_alert(held)) is not None:
        sentence, _, fix = alert.partition("; ")
        checks.append(failed("receipts", sentence, fix))
    return checks


def _free_space(directory: Path) -> Check:
    try:
        free = shutil.disk_usage(directory).free
    except OSError as exc:
        return failed("free space", f"{directory}: {exc.strerror}", "create the state directory")
    detail = f"{free / 1e6:.0f} MB free in {directory}"
    if free < FULL_BYTES:
        detail = (
            f"the disk of {directory} is full: the agent refuses sales and other writes "
            "(503 disk_full) until there is space, then goes on by itself"
        )
        return failed("free space", detail, "free space on that file system (old logs?)")
    if free < MIN_FREE_BYTES:
        return failed("free space", detail, "free space on that file system (old logs?)")
    return passed("free space", detail)


def _journal_pragmas(mode: str, version: int, integrity: str) -> Check:
    # synchronous=FULL is a per-connection setting the agent applies (and verifies) on
    # every open; the file itself can only tell its journal mode, version and integrity
    detail = f"journal_mode={mode}, schema {version}/{len(MIGRATIONS)}, quick_check {integrity}"
    if mode.lower() != "wal" or integrity != "ok" or version > len(MIGRATIONS):
        fix = "stop the agent, then register-agent journal recover (or reset: see --help)"
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
