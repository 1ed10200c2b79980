"""Wiring: the one core module that knows the drivers; it builds devices from config.

A driver is picked from a small table by the ``kind`` of its config section (an
import-linter contract lets only this module import ``drivers``). Readers: a loop per
reader feeds the scan pipeline; a reader that fails disables only itself. Printers: the
driver for ``[printer] kind``, the escpos capabilities cache, print-test and previews.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from drivers.keyboard_reader import KeyboardReader
from drivers.pcsc_reader import PcscReader, probe
from drivers.serial_reader import SerialReader
from drivers.virtual_reader import VirtualReader, inject
from register_agent.common.logs import in_log_context
from register_agent.common.masking import mask
from register_agent.config import (
    AgentConfig,
    PcscReaderConfig,
    PrinterConfig,
    ReaderConfig,
    VirtualReaderConfig,
)
from register_agent.errors import ReaderError
from register_agent.passthrough.printer_link import PrinterTarget
from register_agent.readers.reader import RawScan, Reader
from register_agent.readers.scans import Outcome, Reason, Rejection, ScanPipeline
from register_agent.receipts.layout import ReceiptLayout
from register_agent.receipts.printer import Printer, PrinterStatus
from register_agent.receipts.printer_worker import PrinterWorker

log = logging.getLogger(__name__)

#: ``[[readers]] kind`` -> driver. Adding a reader kind is one module and one line here.
READER_DRIVERS: dict[str, Callable[[Any], Reader]] = {
    "serial": SerialReader,
    "keyboard": KeyboardReader,
    "pcsc": PcscReader,
    "virtual": VirtualReader,
}

#: Unreadable scans in a row before the line settings are suspected.
GARBLED_STREAK = 3
_GARBLED = frozenset({Reason.INVALID_UTF8, Reason.CONTROL_CHARACTERS})

#: What happens to each outcome: the till takes scans, ``scan-test`` prints everything.
ScanHandler = Callable[[RawScan, Outcome], Awaitable[None]]


def make_reader(config: ReaderConfig) -> Reader:
    return READER_DRIVERS[config.kind](config)


def probe_pcsc(config: PcscReaderConfig) -> tuple[bool, str]:
    """``doctor``: pcscd answering and the named reader present (True), or what is wrong."""
    return probe(config)


def inject_scan(config: VirtualReaderConfig, data: bytes) -> None:
    """``register-agent scan``: hand bytes to the running agent's virtual reader."""
    inject(config.socket_path, data)


async def run_readers(
    readers: Sequence[Reader],
    pipeline: ScanPipeline,
    handle: ScanHandler,
    *,
    max_retry_s: float = 30.0,
) -> None:
    """Read every reader at once until cancelled; each one is opened, read and closed alone."""
    await asyncio.gather(
        *(
            in_log_context(run_reader(r, pipeline, handle, max_retry_s=max_retry_s), device=r.name)
            for r in readers
        )
    )


async def run_reader(
    reader: Reader, pipeline: ScanPipeline, handle: ScanHandler, *, max_retry_s: float = 30.0
) -> None:
    """Open (retrying: a reader may be plugged in after boot), read, and always close."""
    try:
        await _open(reader, max_retry_s)
        garbled = 0
        async for raw in reader:
            outcome = pipeline.process(raw)
            _log(outcome)
            garbled = _watch_line(reader.name, outcome, garbled)
            try:
                await handle(raw, outcome)
            except Exception:  # a consumer's bug must not stop the reader
                log.exception("reader %s: handling a scan failed", reader.name)
    except Exception:  # a broken driver disables only itself
        log.exception("reader %s stopped; the other readers go on", reader.name)
    finally:
        await reader.close()


async def _open(reader: Reader, max_retry_s: float) -> None:
    delay, reported = 0.5, False
    while True:
        try:
            await reader.open()
        except ReaderError as exc:
            if not reported:  # once: a missing scanner must not fill the journal
                log.warning("%s; retrying in the background", exc)
                reported = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_retry_s)
            continue
        if reported:
            log.warning("reader %s: opened, reading", reader.name)
        return


def _watch_line(reader: str, outcome: Outcome, garbled: int) -> int:
    """Count unreadable scans in a row; a streak means wrong line settings, which no test
    on a pseudo-terminal can catch (it ignores baud rate and parity)."""
    if not (isinstance(outcome, Rejection) and outcome.reason in _GARBLED):
        return 0
    if garbled + 1 == GARBLED_STREAK:
        log.warning(
            "reader %s: %d unreadable scans in a row; for a serial reader, check baudrate, "
            "parity, bytesize and stopbits against the reader's manual",
            reader,
            GARBLED_STREAK,
        )
    return garbled + 1


def _log(outcome: Outcome) -> None:
    if isinstance(outcome, Rejection):
        # Neutral reason and at most four printable characters: never the raw value.
        log.info(
            "reader %s: scan rejected, %s (ends %r)", outcome.reader, outcome.reason, outcome.tail
        )
    else:
        log.debug("reader %s: %s %s", outcome.reader, type(outcome).__name__, mask(outcome.value))


# --- printers -------------------------------------------------------------------------

#: the logo's raster, kept between starts (drivers/logo_raster.py), under the state directory
LOGO_CACHE = "logo-cache"

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


def open_printer(config: PrinterConfig, **options: Any) -> Printer:
    """The driver for ``config.kind``; nothing is connected until the first status or job.
    ``options``: ``lock``, the one connection at a time it shares with the pass-through."""
    return PRINTER_DRIVERS[config.kind](config, cache_dir=printer_cache_dir(config), **options)


def printer_address(config: PrinterConfig, printer: Printer | None) -> PrinterTarget | None:
    """Where the pass-through relays a till's jobs: a network printer's raw port (the
    virtual one's, once it listens), or what opens a serial printer's line; None for a
    printer the relay cannot reach (USB, a file)."""
    device = getattr(printer, "device", None)
    if config.kind == "virtual" and device is not None:
        host, port = device.address
        return str(host), int(port)
    if config.kind == "network":
        return config.host, config.port
    if config.kind == "serial":
        from drivers.serial_line import open_printer_line  # noqa: PLC0415 (as open_serial_line)

        return lambda: open_printer_line(config)
    return None


def open_serial_line(path: Path, baudrate: int) -> Any:
    """The serial line a till prints to (the pass-through), read without blocking; OSError
    (pyserial's SerialException) when the adapter is not there."""
    from drivers.serial_line import open_line  # noqa: PLC0415 (only tills with a serial line)

    return open_line(path, baudrate)


def block_renderer(config: PrinterConfig) -> Callable[[ReceiptLayout], bytes]:
    """The pass-through's loyalty block in this printer's bytes (no reset: mid-job)."""
    from drivers.escpos_printer import prepare_escpos  # noqa: PLC0415 (lazy, as above)

    prepare_escpos(printer_cache_dir(config))  # before escpos is imported
    from drivers.escpos_render import render_block  # noqa: PLC0415 (imports escpos)

    return lambda layout: render_block(layout, config)  # type: ignore[arg-type]


def agent_printer(config: AgentConfig, **options: Any) -> Printer:
    """The running agent's printer: with ``[receipt] logo`` it converts the logo at once
    (kept in memory, and on disk in the state directory for the next start)."""
    assert config.printer is not None
    logo, cache = config.receipt.logo, config.state.directory / LOGO_CACHE
    return open_printer(config.printer, logo=logo, logo_cache=cache, **options)


def logo_problem(config: AgentConfig) -> str | None:
    """Why ``[receipt] logo`` cannot be printed (doctor's line), or None: it converts."""
    if config.receipt.logo is None:
        return None
    from drivers.escpos_render import printable_dots  # noqa: PLC0415 (imports escpos)
    from drivers.logo_raster import LogoError, logo_raster  # noqa: PLC0415 (Pillow)

    printer = config.printer
    dots = printable_dots(printer.profile, printer.paper_width_mm) if printer else 576
    try:
        logo_raster(config.receipt.logo, dots)
    except LogoError as exc:
        return str(exc)
    return None


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


def printer_line(worker: PrinterWorker | None) -> str:
    """The printer in ``status``: its state and the cashier's message."""
    if worker is None:
        return "none (the POS prints)"
    status = worker.printer_status()
    return "not checked yet" if status is None else f"{status.state}: {status.message}"


def reader_lines(readers: Sequence[Reader]) -> tuple[str, ...]:
    """Each reader in ``status``: ``name: state (detail)``."""
    lines = []
    for reader in readers:
        status = reader.status()
        detail = f" ({status.detail})" if status.detail else ""
        lines.append(f"{status.name}: {status.state}{detail}")
    return tuple(lines)


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
