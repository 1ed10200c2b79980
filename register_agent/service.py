"""The agent's lifecycle: builds the devices from config and wires drivers to the core.

The one core module allowed to import ``drivers`` (an import-linter contract says so): a
driver is picked from a small table by the ``kind`` of its config section.
"""

from __future__ import annotations

# --- printers (issue 3) ---------------------------------------------------------------------
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from register_agent.config import PrinterConfig
from register_agent.devices import Printer, PrinterStatus
from register_agent.receipts import ReceiptLayout

PrinterFactory = Callable[..., Printer]


def _escpos_printer(config: Any, **options: Any) -> Printer:
    from drivers.escpos_printer import EscposPrinter  # noqa: PLC0415 (lazy: only tills with this kind load it)

    return EscposPrinter(config, **options)


def _virtual_printer(config: Any, **options: Any) -> Printer:
    from drivers.escpos_printer import VirtualNetworkPrinter  # noqa: PLC0415

    return VirtualNetworkPrinter(config, **options)


#: ``[printer] kind`` -> the driver that prints on it
PRINTER_DRIVERS: dict[str, PrinterFactory] = {
    "network": _escpos_printer,
    "serial": _escpos_printer,
    "usb": _escpos_printer,
    "file": _escpos_printer,
    "virtual": _virtual_printer,
}


def open_printer(config: PrinterConfig) -> Printer:
    """The driver for ``config.kind``; nothing is connected until the first status or job."""
    return PRINTER_DRIVERS[config.kind](config, cache_dir=printer_cache_dir(config))


def printer_cache_dir(config: PrinterConfig) -> Path:
    """Where python-escpos keeps its parsed capabilities between starts.

    The config's ``capabilities_cache_dir``, else systemd's ``$CACHE_DIRECTORY`` (from
    ``CacheDirectory=``), else the XDG cache of the user running the agent.
    """
    if config.capabilities_cache_dir is not None:
        return config.capabilities_cache_dir
    if os.environ.get("CACHE_DIRECTORY"):
        # systemd may list several directories, separated by ':'
        return Path(os.environ["CACHE_DIRECTORY"].split(":")[0]) / "escpos"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "register-agent" / "escpos"


def write_receipt_preview(receipt: ReceiptLayout, path: Path) -> None:
    """Draw ``receipt`` as a PNG at ``path`` (what ``print-test --preview`` shows)."""
    from drivers.receipt_preview import write_preview  # noqa: PLC0415 (imports Pillow)

    write_preview(receipt, path)


async def print_test(
    config: PrinterConfig, receipt: ReceiptLayout
) -> tuple[PrinterStatus, PrinterStatus | None]:
    """The status before; then, if it can print, print ``receipt`` and the status after
    (None: the printer was not ready, nothing was sent)."""
    printer = open_printer(config)
    try:
        before = await printer.status()
        if not before.can_print:
            return before, None
        await printer.print(receipt)  # PrinterError tells the installer what went wrong
        return before, await printer.status()
    finally:
        await printer.close()
