"""The agent's hourly housekeeping: the register info asked of the Register API again and
kept in the state directory (``register.json``), so that after a restart without the API
loyalty tokens can still be minted; and finished sales past the retention removed from the
journal. A round that fails on the disk or the journal (a full disk, a damaged file) is
reported in ``status`` and tried again sooner, doubling up to the hour: housekeeping never
dies of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from register_agent.config import StateConfig
from register_agent.counter.health import TillHealth
from register_agent.errors import JournalError, LoyaltyApiError
from register_agent.journal import Journal
from register_agent.loyalty import LoyaltyService
from register_agent.loyalty.domain import RegisterInfo
from register_agent.loyalty.retries import Deadline

#: the agent's own log: its housekeeping is news of the agent, and its lines say so
log = logging.getLogger("register_agent.runtime.agent")

REGISTER_FILE = "register.json"  # the register info, so tokens can be minted offline
HOUSEKEEPING_S = 3600.0
RETRY_S = 30.0  # a failed round is tried again after this, doubling up to HOUSEKEEPING_S
WORKER = "housekeeping"


async def keep_house(
    journal: Journal, loyalty: LoyaltyService, health: TillHealth, state: StateConfig
) -> None:
    """Refresh the cached register info; remove finished rows past the retention."""
    while True:
        try:
            await _remember_register(loyalty, health, state.directory)
            retention_s = state.retention_days * 86400
            removed = await journal.purge_finished(before=time.time() - retention_s)
        except (OSError, JournalError) as exc:
            problem = f"a round failed ({exc})"
            pause = health.faults.report(WORKER, problem, first_s=RETRY_S, max_s=HOUSEKEEPING_S)
            await asyncio.sleep(pause)
            continue
        health.faults.clear(WORKER)
        if removed:
            log.info("removed %d finished sales older than the retention", removed)
        await asyncio.sleep(HOUSEKEEPING_S)


async def _remember_register(loyalty: LoyaltyService, health: TillHealth, state: Path) -> None:
    try:
        info = await loyalty.register(deadline=Deadline.after(5.0))
    except LoyaltyApiError as exc:
        health.api_failed(exc)
        log.warning("the Register API does not answer yet (%s); working offline", exc)
        return
    health.api_answered()
    _store_register(state, info)


def cached_register(state: Path) -> RegisterInfo | None:
    """The register info the last housekeeping kept; None before the first."""
    try:
        return RegisterInfo(**json.loads((state / REGISTER_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def _store_register(state: Path, info: RegisterInfo) -> None:
    path = state / REGISTER_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(info.__dict__), encoding="utf-8")
    temporary.replace(path)
