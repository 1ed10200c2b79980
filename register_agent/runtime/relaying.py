"""The receipt pass-through's start in the running agent: the relay's printer address and
block renderer come from the drivers (``devices.py``), the rest from ``passthrough/``."""

from __future__ import annotations

import threading

from register_agent.config import AgentConfig, TillConfig
from register_agent.errors import ConfigError
from register_agent.loyalty.domain import LoyaltyService
from register_agent.passthrough.figures import PassthroughCounters
from register_agent.passthrough.relay import Relay
from register_agent.passthrough.service import start_relay
from register_agent.receipts.printer import Printer
from register_agent.runtime import devices
from register_agent.till.sale import Till


def open_relay(
    config: AgentConfig,
    till: Till,
    counters: PassthroughCounters,
    printer: Printer | None,
    lock: threading.Lock,
    *,
    loyalty: LoyaltyService,
) -> Relay:
    if config.printer is None or printer is None:
        raise ConfigError(
            "passthrough: the relay needs a [printer] section (a network or serial printer)"
        )
    line, baudrate = config.passthrough.serial_device, config.passthrough.serial_baudrate
    return start_relay(
        config,
        till,
        counters,
        printer=devices.printer_address(config.printer, printer),
        printer_lock=lock,
        render=devices.block_renderer(config.printer),
        stages_online=loyalty.stages_online,
        open_serial=(lambda: devices.open_serial_line(line, baudrate)) if line else None,
    )


def till_settings(config: AgentConfig) -> TillConfig:
    """The till's settings; with the pass-through on, a scanned card belongs to the receipt
    printed within ``[passthrough] customer_window_s`` (the till's window otherwise)."""
    if not config.passthrough.enabled:
        return config.till
    window = config.passthrough.customer_window_s
    return config.till.model_copy(update={"customer_window_s": window})
