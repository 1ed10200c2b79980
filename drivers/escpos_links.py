"""The transports of the ESC/POS driver: python-escpos' Network, Serial, Usb and File printers.

A link is one open connection for one job or one status check. Besides sending it can
``ask``: write real-time queries and read their one-byte answers before a deadline, on the
raw transport, because python-escpos' own status calls wait too long or read "paper ok"
from silence. Several queries go out in one write and their answers are read together: a
printer answers each real-time query as it arrives, in order, so four questions cost one
round trip instead of four.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any, Protocol

from register_agent.config import (
    FilePrinterConfig,
    NetworkPrinterConfig,
    SerialPrinterConfig,
    UsbPrinterConfig,
)
from register_agent.errors import PrinterError

TransportConfig = NetworkPrinterConfig | SerialPrinterConfig | UsbPrinterConfig | FilePrinterConfig


class Link(Protocol):
    def send(self, data: bytes) -> None: ...

    def ask(self, query: bytes, timeout: float, answers: int = 1) -> bytes:
        """Send ``query``, return at most ``answers`` bytes of answer, what came before
        ``timeout`` (empty: none)."""
        ...

    def close(self) -> None: ...


class _EscposLink:
    """A python-escpos printer object opened on its transport; raw access for the status."""

    def __init__(self, printer: Any) -> None:
        self.printer = printer

    def send(self, data: bytes) -> None:
        self.printer._raw(data)

    def ask(self, query: bytes, timeout: float, answers: int = 1) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        self.printer.close()


class _NetworkLink(_EscposLink):
    def __init__(self, printer: Any) -> None:
        super().__init__(printer)
        # A query right after the slip's bytes would otherwise wait for their ACK (Nagle
        # against delayed ACK: ~40 ms a slip on loopback, more on a slow printer)
        printer.device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def ask(self, query: bytes, timeout: float, answers: int = 1) -> bytes:
        sock: socket.socket = self.printer.device
        sock.sendall(query)
        deadline = time.monotonic() + timeout
        reply = b""
        try:
            while len(reply) < answers and (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                chunk = sock.recv(answers - len(reply))
                if not chunk:
                    break  # hung up: what it said before is still its answer
                reply += chunk
        except TimeoutError:
            pass
        except OSError:
            if not reply:
                raise
        finally:
            sock.settimeout(self.printer.timeout)
        return reply


class _SerialLink(_EscposLink):
    def ask(self, query: bytes, timeout: float, answers: int = 1) -> bytes:
        port = self.printer.device
        port.reset_input_buffer()  # a late answer to an earlier query must not be read as this one
        port.write(query)
        port.timeout = timeout
        reply: bytes = port.read(answers)  # pyserial: up to ``answers`` bytes within timeout
        return reply


class _UsbLink(_EscposLink):
    def ask(self, query: bytes, timeout: float, answers: int = 1) -> bytes:
        import usb.core  # noqa: PLC0415 (only USB tills have pyusb)

        device, deadline = self.printer.device, time.monotonic() + timeout
        device.write(self.printer.out_ep, query, max(1, int(timeout * 1000)))
        reply = b""
        # a USB printer may hand each answer over in a transfer of its own
        while len(reply) < answers and (left := deadline - time.monotonic()) > 0:
            try:
                chunk = bytes(
                    device.read(self.printer.in_ep, answers - len(reply), max(1, int(left * 1000)))
                )
            except usb.core.USBTimeoutError:
                break
            if not chunk:
                break
            reply += chunk
        return reply


def open_link(config: TransportConfig) -> Link:
    """Open the transport named by ``config.kind``; PrinterError when it is not there."""
    from escpos.exceptions import DeviceNotFoundError  # noqa: PLC0415 (lazy: see module doc)

    factory, link_class = _TRANSPORTS[config.kind]
    printer = factory(config)
    try:
        printer.open()
        _limit_writes(printer, config)
    # RuntimeError: escpos' way of saying pyserial or pyusb is not installed
    except (DeviceNotFoundError, OSError, RuntimeError) as exc:
        with contextlib.suppress(OSError, RuntimeError):
            printer.close()
        raise PrinterError(
            f"printer {where(config)} cannot be reached ({first_line(exc)}); "
            "check that it is switched on and connected",
            device="printer",
        ) from exc
    link: Link = link_class(printer)
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
    if not Usb.is_usable():
        # checked before building one: escpos' Usb raises from __del__ without pyusb
        raise PrinterError(
            f"printer {where(config)} cannot be reached: USB printers need pyusb; "
            "install it with pip install 'register-agent[usb]'",
            device="printer",
        )
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


def where(config: TransportConfig) -> str:
    if isinstance(config, NetworkPrinterConfig):
        return f"at {config.host}:{config.port}"
    if isinstance(config, SerialPrinterConfig):
        return f"on {config.port}"
    if isinstance(config, UsbPrinterConfig):
        return f"USB {config.vendor_id:04x}:{config.product_id:04x}"
    return f"file {config.path}"


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
