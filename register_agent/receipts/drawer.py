"""The cash drawer on the printer's kick port: opened when the POS asks (``POST /v1/drawer``,
or ``open_drawer`` with a sale), straight through the printer driver and never through the
printer worker's queue of receipts, so a receipt waiting for its credits or for paper does
not keep the drawer shut.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict

from register_agent.config import PrinterConfig
from register_agent.errors import PrinterError
from register_agent.receipts.printer import Printer

log = logging.getLogger(__name__)

#: what the cashier does when the agent cannot open the drawer
BY_HAND = "open the drawer with its key, and check the printer"


class DrawerAnswer(BaseModel):
    """``POST /v1/drawer``'s answer, and a sale's ``drawer`` when it asked for
    ``open_drawer``: whether the pulse went out, and the cashier's sentence when it did not."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opened: bool
    #: when it was not: why, and what the cashier does (the key)
    message: str = ""


class Drawer:
    """The drawer of ``printer``; ``None`` for a till whose agent has no printer."""

    def __init__(self, printer: Printer | None, config: PrinterConfig | None) -> None:
        self._printer = printer
        self._config = config

    async def open(self) -> DrawerAnswer:
        """Pulse the drawer now; never raises for a printer that is away."""
        if self._printer is None or self._config is None:
            return DrawerAnswer(
                opened=False,
                message="the drawer could not be opened (the agent has no printer: no "
                '[printer], or [till] prints = "pos"; the drawer hangs off the printer): '
                f"{BY_HAND}",
            )
        config = self._config
        try:
            await self._printer.open_drawer(
                config.drawer_pin, config.drawer_on_ms, config.drawer_off_ms
            )
        except PrinterError as exc:
            log.warning("drawer: not opened: %s", exc)
            reason = str(exc).rstrip(".")
            return DrawerAnswer(
                opened=False, message=f"the drawer could not be opened ({reason}): {BY_HAND}"
            )
        log.info("drawer: opened (pin %d)", config.drawer_pin)
        return DrawerAnswer(opened=True)
