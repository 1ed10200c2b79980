"""The printer's answers to ``DLE EOT 1..4`` read as one state (Epson's bit layout, which
ESC/POS printers of other makes follow): the ESC/POS driver (``escpos_printer.py``) asks,
this module says what the four bytes mean.
"""

from __future__ import annotations

from register_agent.receipts.printer import PrinterState, PrinterStatus


def parse_status(replies: dict[int, int]) -> PrinterStatus:
    """The state from the answers to DLE EOT 1..4 (Epson bit layout, fixed bits 1 and 4 set).

    A missing or malformed answer means NO_REPLY: a reading without a reply is no reading.
    """
    for query in (1, 2, 3, 4):
        byte = replies.get(query)
        if byte is None:
            return PrinterStatus(PrinterState.NO_REPLY, f"no answer to DLE EOT {query}")
        if byte & 0x93 != 0x12:  # Epson's fixed bits: 1 and 4 set, 0 and 7 clear
            return not_a_printer(byte)
    return _state_of(*(replies[n] for n in (1, 2, 3, 4)))


def not_a_printer(byte: int) -> PrinterStatus:
    """Something answered, but not as an ESC/POS printer does: a wrong port or device (a web
    page or a printer's admin port answers 'H' of "HTTP"), or a printer in another mode."""
    shown = f" ({chr(byte)!r})" if 0x20 <= byte < 0x7F else ""
    return PrinterStatus(
        PrinterState.NO_REPLY,
        f"the device answered 0x{byte:02X}{shown}, which is not an ESC/POS status byte: it is "
        "not an ESC/POS printer, or [printer] names the wrong port or device",
        hint="point [printer] at the printer's raw ESC/POS port (9100 on most network "
        "printers) or its device; if that is what it names, switch the printer to ESC/POS "
        "mode (its manual or self-test page says how)",
    )


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
