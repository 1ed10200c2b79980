"""The small protocols the core defines for hardware, and the status every device reports.

Drivers in ``drivers/`` implement these; the core only ever sees these types (design.md,
"Where the code lives"). Readers come first, printers after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from register_agent.receipts.layout import ReceiptLayout

DeviceState = Literal["ok", "degraded", "down"]


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device's health for ``register-agent status``; ``detail``: what is wrong, and the fix."""

    name: str
    state: DeviceState
    detail: str = ""
    #: monotonic time of the reader's last turn on its own thread (None: it has none);
    #: an open reader whose thread stops turning is hung, and the watchdog hears of it
    alive_at: float | None = None


# --- readers ---------------------------------------------------------------------------

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


# --- printers --------------------------------------------------------------------------


class PrinterState(StrEnum):
    """What the printer answered to its status queries (or that it did not answer)."""

    ONLINE = "online"
    PAPER_NEAR_END = "paper near end"
    PAPER_OUT = "paper out"
    COVER_OPEN = "cover open"
    OFFLINE = "offline"
    NO_REPLY = "no reply"


_CASHIER_MESSAGES = {
    PrinterState.ONLINE: "Printer ready.",
    PrinterState.PAPER_NEAR_END: "Printer paper is running low: have a new roll ready.",
    PrinterState.PAPER_OUT: "Printer is out of paper: put in a new roll.",
    PrinterState.COVER_OPEN: "Printer cover is open: close it.",
    PrinterState.OFFLINE: "Printer is offline: check it is switched on and not in an error.",
    PrinterState.NO_REPLY: "Printer does not answer: check its power and cable.",
}


@dataclass(frozen=True)
class PrinterStatus:
    """The printer's state and the sentence the cashier sees for it."""

    state: PrinterState
    detail: str = ""

    @property
    def can_print(self) -> bool:
        """A slip put in now comes out now (a near-end roll still prints)."""
        return self.state in (PrinterState.ONLINE, PrinterState.PAPER_NEAR_END)

    @property
    def message(self) -> str:
        """A short sentence for the cashier: what is wrong and what to do."""
        return _CASHIER_MESSAGES[self.state]


class Printer(Protocol):
    """A receipt printer. Methods never block the event loop; failures raise PrinterError."""

    async def status(self) -> PrinterStatus:
        """Ask the printer how it is; a silent printer gives NO_REPLY within the timeout."""
        ...

    async def print(self, receipt: ReceiptLayout) -> None:
        """Print ``receipt`` after checking the status; PrinterError when it cannot."""
        ...

    async def close(self) -> None:
        """Release the connection or device; the printer can no longer be used."""
        ...
