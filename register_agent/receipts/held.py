"""Receipts the printer never took: a print job that waited longer than ``[till]
receipt_freshness_s`` is held rather than printed late (``journal/queries.py``), and the
till says so in one sentence, the same in ``GET /v1/status``, ``register-agent status`` and
``register-agent doctor``, with what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence

# Decision: the threshold is ``[till] receipt_freshness_s`` itself, with no setting of its
# own: the moment a receipt stops being printed by itself is the moment a person must act.
#: Decision: a held receipt is reported for a day. A customer who wanted it came back or
#: left long ago; after that the alert would keep the till "degraded" with nothing left
#: to do (the journal keeps the job until ``[state] retention_days``, for a reprint).
HELD_REPORTED_S = 24 * 3600
#: at most this many sale ids in the sentence (the POS finds the rest by its own list)
_NAMED = 5


def held_alert(sale_ids: Sequence[str]) -> str | None:
    """The alert for the receipts held in the last day, or None when there are none."""
    if not sale_ids:
        return None
    count = len(sale_ids)
    named = ", ".join(sale_ids[:_NAMED]) + (", ..." if count > _NAMED else "")
    were = "receipt was" if count == 1 else "receipts were"
    return (
        f"{count} {were} not printed: the printer was unavailable for longer than "
        f"[till] receipt_freshness_s (sales {named}); once the printer is ready, reprint "
        "from the POS (POST /v1/sales/SALE_ID/reprint) the ones a customer still wants"
    )
