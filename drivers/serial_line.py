"""The serial line a till prints to, for the receipt pass-through
(``register_agent/passthrough/serial_till.py``): pyserial, opened non-blocking, so the
relay's select loop reads what has come and never waits on the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def open_line(path: Path, baudrate: int) -> Any:
    """OSError (pyserial's SerialException is one) when the adapter is not there."""
    import serial  # noqa: PLC0415 (only tills with a serial line need pyserial)

    return serial.Serial(str(path), baudrate=baudrate, timeout=0, write_timeout=2)
