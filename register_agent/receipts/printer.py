"""What the core knows of a receipt printer: the ``Printer`` protocol the ESC/POS driver
in ``drivers/`` implements, and the states it reports with the cashier's sentence for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from register_agent.errors import PrinterError
from register_agent.receipts.layout import ReceiptLayout


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
    #: what the installer should do, when the driver knows better than the cashier's message
    hint: str = ""

    @property
    def can_print(self) -> bool:
        """A slip put in now comes out now (a near-end roll still prints)."""
        return self.state in (PrinterState.ONLINE, PrinterState.PAPER_NEAR_END)

    @property
    def message(self) -> str:
        """A short sentence for the cashier: what is wrong and what to do."""
        return _CASHIER_MESSAGES[self.state]


class PrinterRefused(PrinterError):
    """The printer answered, and what it said (``status``) means a slip would not come out:
    the job was not sent."""

    def __init__(self, status: PrinterStatus) -> None:
        super().__init__(status.message, device="printer")
        self.status = status


class Printer(Protocol):
    """A receipt printer. Methods never block the event loop; failures raise PrinterError."""

    async def status(self) -> PrinterStatus:
        """Ask the printer how it is; a silent printer gives NO_REPLY within the timeout."""
        ...

    async def print(self, receipt: ReceiptLayout) -> PrinterStatus | None:
        """Print ``receipt`` after checking the status on the same connection; that status
        (None: the printer cannot tell one); ``PrinterRefused`` when it said it cannot
        print, PrinterError when it could not be reached."""
        ...

    async def open_drawer(self, pin: int, on_ms: int, off_ms: int) -> None:
        """Pulse the cash drawer's ``pin`` (2 or 5) for ``on_ms`` (``ESC p``) at once, beside
        any receipt waiting to print; PrinterError when the printer cannot take it now."""
        ...

    async def close(self) -> None:
        """Release the connection or device; the printer can no longer be used."""
        ...
