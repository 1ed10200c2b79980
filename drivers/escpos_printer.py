"""The ESC/POS receipt printer driver (python-escpos): network, serial, USB and file printers.

A receipt layout becomes bytes in ``drivers.escpos_render`` and travels over a link from
``drivers.escpos_links``; this module asks ``DLE EOT 1..4`` itself with a read deadline (a
silent printer gives ``NO_REPLY``, never a made-up "paper ok"), refuses a job the printer
cannot print, and sends it in one write. Every blocking call runs in a worker thread with a
short timeout, so the event loop and the cashier never wait on a dead printer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import sys
import threading
from pathlib import Path
from typing import Any

from drivers.escpos_links import Link, TransportConfig, first_line, open_link, where
from drivers.escpos_status import parse_status
from drivers.escpos_text import TextReceipts
from drivers.virtual_printer import VirtualPrinter
from register_agent.config import FilePrinterConfig, NetworkPrinterConfig, VirtualPrinterConfig
from register_agent.errors import PrinterError
from register_agent.receipts.layout import ReceiptLayout
from register_agent.receipts.printer import PrinterRefused, PrinterState, PrinterStatus

log = logging.getLogger(__name__)

_DLE_EOT = b"\x10\x04"
#: DLE EOT 1, 2, 3, 4: the printer, offline cause, error and paper sensor status
_STATUS_QUERIES = b"".join(_DLE_EOT + bytes([n]) for n in (1, 2, 3, 4))
#: ESC p m t1 t2: a pulse on the kick port's pin 2 (m = 0) or 5 (m = 1), t1 x 2 ms on and
#: t2 x 2 ms off
_ESC_P = b"\x1bp"
_DRAWER_PINS = {2: 0, 5: 1}


def drawer_pulse(pin: int, on_ms: int, off_ms: int) -> bytes:
    """The bytes that open the drawer on ``pin`` for ``on_ms``."""
    return _ESC_P + bytes([_DRAWER_PINS[pin], on_ms // 2, off_ms // 2])


def prepare_escpos(cache_dir: Path | None) -> None:
    """Point python-escpos' capabilities cache at ``cache_dir`` before its first import.

    Without it every start parses the YAML database again (~150 ms) into a new temp dir.
    A torn cache is removed first (``_drop_torn_caches``).
    """
    if cache_dir is None or "escpos.capabilities" in sys.modules:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _drop_torn_caches(cache_dir)
    except OSError as exc:
        log.warning("printer: cache %s unusable (%s); escpos will use a temp dir", cache_dir, exc)
        return
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(cache_dir)


def _drop_torn_caches(cache_dir: Path) -> None:
    """Remove a capabilities cache that does not load, so escpos builds it again.

    escpos opens the file for writing (emptying it) before it parses the YAML, then writes
    it, and later trusts any file newer than its database: a power cut or a kill in that
    window left an empty file that failed every start's first print with "Ran out of
    input", for good. A file another process is still writing may be removed too: that
    process goes on writing the removed file, and escpos builds a new one here.
    """
    for cached in cache_dir.glob("*.capabilities.pickle"):
        try:
            with cached.open("rb") as stream:
                pickle.load(stream)  # noqa: S301 (the agent's own cache; escpos loads it anyway)
        except FileNotFoundError:
            continue
        except Exception as exc:  # noqa: BLE001 (whatever a torn pickle raises)
            log.warning("printer: capabilities cache %s is torn (%s); rebuilding it", cached, exc)
            cached.unlink(missing_ok=True)


# --- the driver -----------------------------------------------------------------------------


class EscposPrinter:
    """The ``Printer`` of network, serial, USB and file ESC/POS printers."""

    def __init__(
        self,
        config: TransportConfig,
        *,
        cache_dir: Path | None = None,
        lock: threading.Lock | None = None,
        logo: Path | None = None,
        logo_cache: Path | None = None,
    ) -> None:
        self.config = config
        prepare_escpos(cache_dir)  # before anything imports escpos
        # one job or status check at a time: serial and USB devices have a single owner, and
        # a network printer's raw port one connection (``lock``: shared with the relay)
        self._lock = lock or threading.Lock()
        self._closed = False
        self._logo_cache = logo_cache
        if logo is not None:  # converted now, beside the start, not at the first receipt
            threading.Thread(target=self._convert_logo, args=(logo,), daemon=True).start()

    async def status(self) -> PrinterStatus:
        return await asyncio.to_thread(self._status_blocking)

    async def print(self, receipt: ReceiptLayout) -> PrinterStatus:
        return await asyncio.to_thread(self._print_blocking, receipt)

    async def open_drawer(self, pin: int, on_ms: int, off_ms: int) -> None:
        await asyncio.to_thread(self._kick_blocking, drawer_pulse(pin, on_ms, off_ms))

    async def close(self) -> None:
        # Links live for one job only, so nothing stays open between calls.
        self._closed = True

    # --- blocking work, in a worker thread --------------------------------------------------

    def _convert_logo(self, logo: Path) -> None:
        from drivers.escpos_render import printable_dots  # noqa: PLC0415 (imports escpos)
        from drivers.logo_raster import LogoError, logo_raster  # noqa: PLC0415 (Pillow)

        try:
            dots = printable_dots(self.config.profile, self.config.paper_width_mm)
            logo_raster(logo, dots, self._logo_cache)
        except LogoError as exc:
            log.warning("%s; receipts are printed without it", exc)

    def _status_blocking(self) -> PrinterStatus:
        with self._lock:
            self._check_open()
            if isinstance(self.config, FilePrinterConfig):
                return _file_status(self.config.path)
            try:
                link = open_link(self.config)
            except PrinterError as exc:
                return PrinterStatus(PrinterState.NO_REPLY, str(exc))
            try:
                return self._read_status(link)
            finally:
                _close_link(link)

    def _print_blocking(self, receipt: ReceiptLayout) -> PrinterStatus:
        from drivers.escpos_render import render  # noqa: PLC0415 (imports escpos)

        return self.send_job(render(receipt, self.config, self._logo_cache))

    def send_job(self, data: bytes) -> PrinterStatus:
        """A rendered slip to the printer: its status, then the job, over one connection
        (a status check of its own before the job would open a second); the status it gave."""
        with self._lock:
            self._check_open()
            link = open_link(self.config)
            try:
                status = self._read_status(link)
                if not status.can_print:
                    raise PrinterRefused(status)
                self._send_checked(link, data)
            except OSError as exc:
                raise PrinterError(
                    f"printer {where(self.config)} stopped answering while printing "
                    f"({first_line(exc)}); the receipt may be incomplete: reprint it",
                    device="printer",
                ) from exc
            finally:
                _close_link(link)
        log.info("printer: receipt of %d bytes sent (%s)", len(data), status.state)
        return status

    def _kick_blocking(self, pulse: bytes) -> None:
        """The pulse in a connection of its own, between receipts (a receipt waiting for
        its credits holds no connection; one being sent is a second at most).

        Decision: only to a printer that reports itself ready. A printer that is out of
        paper, open or offline keeps what it receives and carries it out when it is back:
        the drawer would spring open minutes later, by itself, at a till nobody may be
        watching. The cashier is told to use the key instead.
        """
        with self._lock:
            self._check_open()
            link = open_link(self.config)
            try:
                status = self._read_status(link)
                if not status.can_print:
                    raise PrinterRefused(status)
                link.send(pulse)
            except OSError as exc:
                raise PrinterError(
                    f"printer {where(self.config)} stopped answering ({first_line(exc)})",
                    device="printer",
                ) from exc
            finally:
                _close_link(link)

    def _read_status(self, link: Link) -> PrinterStatus:
        """Ask DLE EOT 1..4 in one write and read the four answers within
        ``status_timeout_s``: one round trip (a printer answers each as it arrives)."""
        if isinstance(self.config, FilePrinterConfig):
            # A file or device node cannot answer; writing to it is all it can do.
            return PrinterStatus(PrinterState.ONLINE, "a file target reports no status")
        try:
            answer = link.ask(_STATUS_QUERIES, self.config.status_timeout_s, answers=4)
        except OSError as exc:
            return PrinterStatus(PrinterState.NO_REPLY, first_line(exc))
        return parse_status(dict(zip((1, 2, 3, 4), answer, strict=False)))

    def _send_checked(self, link: Link, data: bytes) -> None:
        """The slip's bytes with one ``DLE EOT 1`` right after them, in the same write (its
        answer comes once the printer has taken the slip): a printer that went offline while
        printing (the roll ended, the cover opened) did not print the slip whole.

        Decision: such a slip counts as not printed and is printed again whole, unmarked,
        once the printer reports paper again: a torn slip is no receipt, and the whole one is
        the customer's original, not a copy. One query, not four: the worker asks the full
        status itself after a failure, and a busy till prints many slips. No answer (or no
        status byte) is not held against the slip: it counts as printed, and the worker's
        next status query tells the truth about the printer.
        """
        if isinstance(self.config, FilePrinterConfig):
            link.send(data)
            return
        answer = link.ask(data + _DLE_EOT + b"\x01", self.config.status_timeout_s)
        if answer and answer[0] & 0x93 == 0x12 and answer[0] & 0x08:
            raise PrinterError(
                "the printer stopped in the middle of the receipt (paper out, cover open or "
                "offline); the receipt is printed again whole when the printer is ready",
                device="printer",
            )

    def _check_open(self) -> None:
        if self._closed:
            raise PrinterError("the printer driver was closed", device="printer")


def _file_status(path: Path) -> PrinterStatus:
    """A file or device node cannot answer a status query, and opening it the way a job does
    (python-escpos opens it "wb") would empty the file the last job wrote: only ask whether
    a job could be written."""
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        what = "cannot be written" if path.exists() else "cannot be created"
        return PrinterStatus(PrinterState.NO_REPLY, f"{path} {what} by this user")
    return PrinterStatus(PrinterState.ONLINE, "a file target reports no status")


def _close_link(link: Link) -> None:
    try:
        link.close()
    except OSError as exc:
        log.debug("printer: closing the link failed: %s", exc)


class VirtualNetworkPrinter:
    """``kind = "virtual"``: this driver over the network to a VirtualPrinter on loopback
    that lives as long as this object (the demo's printer)."""

    def __init__(self, config: VirtualPrinterConfig, **driver_options: Any) -> None:
        folder = config.receipts_dir
        shown = None if folder is None else TextReceipts(folder, config.line_width)
        self.device = VirtualPrinter(config.host, config.port, receipts=shown).start()
        if config.control_port is not None:
            self.device.start_control(config.control_port)
        host, port = self.device.address
        network = NetworkPrinterConfig(
            **config.model_dump(exclude={"kind", "host", "port", "control_port", "receipts_dir"}),
            kind="network",
            host=host,
            port=port,
        )
        self._driver = EscposPrinter(network, **driver_options)

    async def status(self) -> PrinterStatus:
        return await self._driver.status()

    async def print(self, receipt: ReceiptLayout) -> PrinterStatus:
        return await self._driver.print(receipt)

    async def open_drawer(self, pin: int, on_ms: int, off_ms: int) -> None:
        await self._driver.open_drawer(pin, on_ms, off_ms)

    async def close(self) -> None:
        await self._driver.close()
        self.device.stop()
