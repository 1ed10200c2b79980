"""How much of a card value the till may show: its last few printable characters. Logs,
receipts, errors and the journal show a card no other way.
"""

from __future__ import annotations


def safe_tail(text: str, size: int = 4) -> str:
    """At most the last ``size`` printable ASCII characters: all a log may show of a value."""
    printable = [char for char in text if char.isascii() and char.isprintable()]
    return "".join(printable[-size:]) if size > 0 else ""


def mask(value: str) -> str:
    """A card value as logs show it: ``…1234``."""
    return "…" + safe_tail(value)
