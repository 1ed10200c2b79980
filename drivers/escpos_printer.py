"""The ESC/POS receipt printer driver (python-escpos): network, serial, USB and file printers.

A receipt layout becomes bytes in ``drivers.escpos_render``; this module owns the link to
the printer: it asks ``DLE EOT 1..4`` itself on the raw transport with a read deadline (a
silent printer gives ``NO_REPLY``, never a made-up "paper ok"), refuses a job the printer
cannot print, and sends it in one write. Every blocking call runs in a worker thread with a
short timeout, so the event loop and the cashier never wait on a dead printer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from register_agent.config import (
    FilePrinterConfig,
    NetworkPrinterConfig,
    SerialPrinterConfig,
    UsbPrinterConfig,
)
from register_agent.devices import PrinterState, PrinterStatus
from register_agent.errors import PrinterError
from register_agent.receipts import ReceiptLayout

log = logging.getLogger(__name__)

TransportConfig = NetworkPrinterConfig | SerialPrinterConfig | UsbPrinterConfig | FilePrinterConfig

_DLE_EOT = b"\x10\x04"


def prepare_escpos(cache_dir: Path | None) -> None:
    """Point python-escpos' capabilities cache at ``cache_dir`` before its first import.

    Without it every start parses the YAML database again (~150 ms) into a new temp dir.
    """
    if cache_dir is None or "escpos.capabilities" in sys.modules:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("printer: cache %s unusable (%s); escpos will use a temp dir", cache_dir, exc)
        return
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(cache_dir)


# --- status ---------------------------------------------------------------------------------


def parse_status(replies: dict[int, int]) -> PrinterStatus:
    """The state from the answers to DLE EOT 1..4 (Epson bit layout, fixed bits 1 and 4 set).

    A missing or malformed answer means NO_REPLY: a reading without a reply is no reading.
    """
    for query in (1, 2, 3, 4):
        byte = replies.get(query)
        if byte is None:
            return PrinterStatus(PrinterState.NO_REPLY, f"no answer to DLE EOT {query}")
        if byte & 0x93 != 0x12:
            return PrinterStatus(PrinterState.NO_REPLY, f"not a status byte: 0x{byte:02X}")
    return _state_of(*(replies[n] for n in (1, 2, 3, 4)))


def _state_of(printer: int, cause: int, error: int, paper: int) -> PrinterStatus:
    """The most urgent thing the four status bytes say (what the cashier must fix first)."""
    if cause & 0x04:
        state = PrinterState.COVER_OPEN
    elif paper & 0x60 or cause & 0x20:
        state = PrinterState.PAPER_OUT
    elif printer & 0x08 or error & 0x6C:
        detail = f"error status 0x{error:02X}" if error & 0x6C else ""
        return PrinterStatus(PrinterState.OFFLINE, detail)
    elif paper & 0x0C:
        state = PrinterState.PAPER_NEAR_END
    else:
        state = PrinterState.ONLINE
    return PrinterStatus(state)


# --- links: one open connection to the printer, for one job or one status check -------------


class _Link(Protocol):
    def send(self, data: bytes) -> None: ...

    def ask(self, query: bytes, timeout: float) -> bytes:
        """Send ``query``, return at most one byte of answer (empty: none before timeout)."""
        ...

    def close(self) -> None: ...


class _EscposLink:
    """A python-escpos printer object opened on its transport; raw access for the status."""

    def __init__(self, printer: Any) -> None:
        self.printer = printer

    def send(self, data: bytes) -> None:
        self.printer._raw(data)

    def ask(self, query: bytes, timeout: float) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        self.printer.close()


class _NetworkLink(_EscposLink):
    def ask(self, query: bytes, timeout: float) -> bytes:
        sock: socket.socket = self.printer.device
        sock.sendall(query)
        sock.settimeout(timeout)
        try:
            return sock.recv(1)
        except TimeoutError:
            return b""
        finally:
            sock.settimeout(self.printer.timeout)


class _SerialLink(_EscposLink):
    def ask(self, query: bytes, timeout: float) -> bytes:
        port = self.printer.device
        port.reset_input_buffer()  # a late answer to an earlier query must not be read as this one
        port.write(query)
        port.timeout = timeout
        reply: bytes = port.read(1)
        return reply


class _UsbLink(_EscposLink):
    def ask(self, query: bytes, timeout: float) -> bytes:
        import usb.core  # noqa: PLC0415 (only USB tills have pyusb)

        device, milliseconds = self.printer.device, max(1, int(timeout * 1000))
        device.write(self.printer.out_ep, query, milliseconds)
        try:
            return bytes(device.read(self.printer.in_ep, 1, milliseconds))
        except usb.core.USBTimeoutError:
            return b""


def _open_link(config: TransportConfig) -> _Link:
    """Open the transport named by ``config.kind``; PrinterError when it is not there."""
    from escpos.exceptions import DeviceNotFoundError  # noqa: PLC0415 (lazy: see module doc)

    factory, link_class = _TRANSPORTS[config.kind]
    printer = factory(config)
    try:
        printer.open()
    except (DeviceNotFoundError, OSError) as exc:
        raise PrinterError(
            f"printer {_where(config)} cannot be reached ({_first_line(exc)}); "
            "check that it is switched on and connected",
            device="printer",
        ) from exc
    _limit_writes(printer, config)
    link: _Link = link_class(printer)
    return link


def _network(config: TransportConfig) -> Any:
    from escpos.printer import Network  # noqa: PLC0415

    assert isinstance(config, NetworkPrinterConfig)
    # escpos' default timeout is 60 s: a missing printer would hold the job that long.
    return Network(config.host, config.port, timeout=config.timeout_s, profile=config.profile)


def _serial(config: TransportConfig) -> Any:
    from escpos.printer import Serial  # noqa: PLC0415

    assert isinstance(config, SerialPrinterConfig)
    return Serial(
        config.port,
        baudrate=config.baudrate,
        bytesize=config.bytesize,
        parity=config.parity,
        stopbits=config.stopbits,
        timeout=config.timeout_s,
        xonxoff=config.flow_control == "xonxoff",
        dsrdtr=False,
        profile=config.profile,
    )


def _usb(config: TransportConfig) -> Any:
    from escpos.printer import Usb  # noqa: PLC0415

    assert isinstance(config, UsbPrinterConfig)
    return Usb(
        config.vendor_id,
        config.product_id,
        usb_args={},
        timeout=int(config.timeout_s * 1000),
        in_ep=config.in_endpoint,
        out_ep=config.out_endpoint,
        profile=config.profile,
    )


def _file(config: TransportConfig) -> Any:
    from escpos.printer import File  # noqa: PLC0415

    assert isinstance(config, FilePrinterConfig)
    return File(str(config.path), profile=config.profile)


def _limit_writes(printer: Any, config: TransportConfig) -> None:
    """A serial printer with its handshake line down would block a write for ever."""
    if isinstance(config, SerialPrinterConfig):
        printer.device.write_timeout = config.timeout_s
        printer.device.rtscts = config.flow_control == "rtscts"


_TRANSPORTS: dict[str, tuple[Any, type[_EscposLink]]] = {
    "network": (_network, _NetworkLink),
    "serial": (_serial, _SerialLink),
    "usb": (_usb, _UsbLink),
    "file": (_file, _EscposLink),
}


def _where(config: TransportConfig) -> str:
    if isinstance(config, NetworkPrinterConfig):
        return f"at {config.host}:{config.port}"
    if isinstance(config, SerialPrinterConfig):
        return f"on {config.port}"
    if isinstance(config, UsbPrinterConfig):
        return f"USB {config.vendor_id:04x}:{config.product_id:04x}"
    return f"file {config.path}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[-1]


# --- the driver -----------------------------------------------------------------------------


class EscposPrinter:
    """The ``Printer`` of network, serial, USB and file ESC/POS printers."""

    def __init__(self, config: TransportConfig, *, cache_dir: Path | None = None) -> None:
        self.config = config
        self._cache_dir = cache_dir
        # one job or status check at a time: serial and USB devices have a single owner
        self._lock = threading.Lock()
        self._closed = False

    async def status(self) -> PrinterStatus:
        return await asyncio.to_thread(self._status_blocking)

    async def print(self, receipt: ReceiptLayout) -> None:
        await asyncio.to_thread(self._print_blocking, receipt)

    async def close(self) -> None:
        # Links live for one job only, so nothing stays open between calls.
        self._closed = True

    # --- blocking work, in a worker thread --------------------------------------------------

    def _status_blocking(self) -> PrinterStatus:
        with self._lock:
            self._check_open()
            try:
                link = _open_link(self.config)
            except PrinterError as exc:
                return PrinterStatus(PrinterState.NO_REPLY, str(exc))
            try:
                return self._read_status(link)
            finally:
                _close_link(link)

    def _print_blocking(self, receipt: ReceiptLayout) -> None:
        from drivers.escpos_render import render  # noqa: PLC0415 (imports escpos)

        prepare_escpos(self._cache_dir)
        data = render(receipt, self.config)
        with self._lock:
            self._check_open()
            link = _open_link(self.config)
            try:
                status = self._read_status(link)
                if not status.can_print:
                    raise PrinterError(status.message, device="printer")
                link.send(data)
            except OSError as exc:
                raise PrinterError(
                    f"printer {_where(self.config)} stopped answering while printing "
                    f"({_first_line(exc)}); the receipt may be incomplete: reprint it",
                    device="printer",
                ) from exc
            finally:
                _close_link(link)
        log.info("printer: receipt of %d bytes sent (%s)", len(data), status.state)

    def _read_status(self, link: _Link) -> PrinterStatus:
        """Ask DLE EOT 1..4 within ``status_timeout_s`` in total."""
        if isinstance(self.config, FilePrinterConfig):
            # A file or device node cannot answer; writing to it is all it can do.
            return PrinterStatus(PrinterState.ONLINE, "a file target reports no status")
        deadline = time.monotonic() + self.config.status_timeout_s
        replies: dict[int, int] = {}
        try:
            for query in (1, 2, 3, 4):
                left = deadline - time.monotonic()
                answer = link.ask(_DLE_EOT + bytes([query]), left) if left > 0 else b""
                if not answer:
                    break
                replies[query] = answer[0]
        except OSError as exc:
            return PrinterStatus(PrinterState.NO_REPLY, _first_line(exc))
        return parse_status(replies)

    def _check_open(self) -> None:
        if self._closed:
            raise PrinterError("the printer driver was closed", device="printer")
        prepare_escpos(self._cache_dir)


def _close_link(link: _Link) -> None:
    try:
        link.close()
    except OSError as exc:
        log.debug("printer: closing the link failed: %s", exc)
