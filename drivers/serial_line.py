"""The serial lines of the receipt pass-through: the one a till prints to
(``register_agent/passthrough/serial_till.py``) and a serial printer's, which the relay
opens for each job (``passthrough/printer_link.py``). pyserial, opened non-blocking, so the
relay's select loop reads what has come and never waits on the line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from register_agent.config import SerialPrinterConfig


def open_line(path: Path, baudrate: int) -> Any:
    """OSError (pyserial's SerialException is one) when the adapter is not there."""
    import serial  # noqa: PLC0415 (only tills with a serial line need pyserial)

    return serial.Serial(str(path), baudrate=baudrate, timeout=0, write_timeout=2)


def open_printer_line(config: SerialPrinterConfig) -> Any:
    """The printer's line as ``[printer]`` describes it; OSError when it is not there.

    Decision, XON/XOFF: the line is opened without software flow control whatever
    ``flow_control`` says. The printer's XOFF and XON are bytes the relay passes to the
    till unchanged and at once (the till, which sent the job, is the one to pause), and a
    kernel that acted on them would swallow them, and pause on a raster's 0x13 byte of a
    printer that only echoes. Hardware flow control (RTS/CTS) is the line's own and kept.
    """
    import serial  # noqa: PLC0415

    return serial.Serial(
        config.port,
        baudrate=config.baudrate,
        bytesize=config.bytesize,
        parity=config.parity,
        stopbits=config.stopbits,
        rtscts=config.flow_control == "rtscts",
        xonxoff=False,
        timeout=0,
        write_timeout=config.timeout_s,
    )
