"""What the core knows of a card reader: the ``Reader`` protocol the drivers in
``drivers/`` implement, the raw frame a reader delivers, and the status every device reports.

The core only ever sees these types; the drivers are picked by ``kind`` in
``register_agent/runtime/devices.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

DeviceState = Literal["ok", "degraded", "down"]


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device's health for ``register-agent status``; ``detail``: what is wrong, and the fix."""

    name: str
    state: DeviceState
    detail: str = ""
    #: monotonic time of the reader's last turn, a read or a quiet quarter second (None: it
    #: has no such turn); an open reader that stops turning is hung (the scan's path past
    #: it, or a read stuck in a driver's thread), and the watchdog hears of it
    alive_at: float | None = None


#: Drivers cut a frame at this many bytes: anything longer is no identifier, and a reader
#: spewing garbage must not grow a buffer without end. The scan pipeline rejects it.
MAX_RAW_SCAN_BYTES = 1024


@dataclass(frozen=True, slots=True)
class RawScan:
    """One frame exactly as a reader delivered it (terminator removed), not yet trusted.

    ``data`` is left out of the repr: it may be a customer's card value or hostile bytes.
    """

    data: bytes = field(repr=False)
    reader: str
    at: datetime


class Reader(Protocol):
    """A card reader: open it, iterate its raw scans, close it.

    Iteration survives unplugging: the driver reports the loss once, reopens with backoff
    and carries on, so the iterator only ends after ``close()``.
    """

    @property
    def name(self) -> str: ...

    async def open(self) -> None:
        """Open the device; raise ``ReaderError`` with the path, the cause and the fix."""

    def __aiter__(self) -> AsyncIterator[RawScan]: ...

    async def close(self) -> None:
        """Stop reading and release the device; safe to call twice."""

    def status(self) -> DeviceStatus: ...
