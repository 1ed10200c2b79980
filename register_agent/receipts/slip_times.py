"""The times a slip prints: the sale's, as the journal recorded it, and for a copy the time
the copy was asked for, both in the till's local time zone. Every slip of a sale (the sale's
receipt, with its giftcard lines, and the welcome slip) takes them from here; the layout
(``receipts/layout.py``) decides where they go and how they read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from register_agent.journal import PrintJob, SaleRecord


def copy_and_times(sale: SaleRecord, job: PrintJob) -> dict[str, Any]:
    """Whether the slip is a copy, the sale's time as the journal has it and the copy's (the
    time it was asked for), both in the till's local time zone."""
    copy = job.copy > 0
    return {
        "copy": copy,
        "sold_at": local_time(sale.created_at),
        "copied_at": local_time(job.created_at) if copy else None,
    }


def local_time(stamp: float) -> datetime:
    """A journal time in the till's own time zone (the system's, or ``TZ``)."""
    return datetime.fromtimestamp(stamp).astimezone()
