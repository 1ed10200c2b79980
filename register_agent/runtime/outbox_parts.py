"""What the running agent (``agent.py``) hands its outbox: the settings from ``[outbox]``,
the handler table, and the vouchers' connection and desk, which the outbox's voucher
handler shares with the local API's voucher routes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from register_agent.config import AgentConfig
from register_agent.counter.vouchers.desk import VoucherDesk
from register_agent.journal import Journal
from register_agent.loyalty import LoyaltyService
from register_agent.loyalty.bundle import Loyalty
from register_agent.loyalty.retries import Deadline
from register_agent.loyalty.vouchers import make_vouchers
from register_agent.outbox.contract import OperationHandler
from register_agent.outbox.handlers import make_handlers
from register_agent.outbox.worker import OutboxSettings


def outbox_settings(config: AgentConfig) -> OutboxSettings:
    names = ("concurrency", "backoff_base_s", "backoff_max_s", "unknown_delay_s")
    return OutboxSettings(**{name: getattr(config.outbox, name) for name in names})


def open_vouchers(
    config: AgentConfig,
    journal: Journal,
    loyalty: LoyaltyService,
    stack: contextlib.AsyncExitStack,
    wake_outbox: Callable[[], None],
) -> VoucherDesk:
    """The voucher desk, with its connection when the till can take vouchers (v3 or orders
    with the personal access token); without, its routes say what is missing."""

    async def shop_uuid(deadline: Deadline | None) -> str:
        # where a redemption is booked: the configured shop, or the register's own
        return config.api.shop_uuid or (await loyalty.register(deadline=deadline)).shop_key

    vouchers = make_vouchers(config.api, shop_uuid)
    if vouchers is not None:
        stack.push_async_callback(vouchers.aclose)
    hold_s = config.outbox.voucher_hold_s
    return VoucherDesk(journal, vouchers, hold_s=hold_s, wake_outbox=wake_outbox)


def outbox_handlers(
    config: AgentConfig, loyalty: Loyalty, journal: Journal, desk: VoucherDesk
) -> dict[str, OperationHandler]:
    settle_s = config.outbox.claim_settle_s
    return make_handlers(loyalty, journal, claim_settle_s=settle_s, vouchers=desk.service)
