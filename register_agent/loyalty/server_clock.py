"""The till's clock against the Register API's: every answer's ``Date`` header, compared
with this machine's clock as the answer arrives, for the ``register_agent_clock_skew_seconds``
metric (a fleet's "clock skew" alert). Loyalty tokens carry a timestamp the server checks,
and a Raspberry Pi has no real-time clock: a till whose clock drifted fails in ways no
other metric explains.

``doctor`` makes the same comparison once (``loyalty.checks``); this one follows every
answer the agent gets anyway, so it costs no request of its own.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable

import httpx

#: this machine's clock minus the server's, in seconds, at the last answer (none: empty)
_last: list[float] = []
#: the last Date header read and the time it names: the header changes once a second and
#: the outbox reads hundreds of answers a second, each parse a share of a delivery's CPU
_read: list[tuple[str, float]] = []


def skew_s() -> float | None:
    """The last skew seen (positive: the till is ahead); None before the first answer.

    The header has whole seconds and leaves the server when the answer is made: the value
    is good to about a second plus the answer's travel time, plenty for a clock that is
    minutes off.
    """
    return _last[-1] if _last else None


def observe(response: httpx.Response, clock: Callable[[], float] = time.time) -> None:
    """Note the skew one answer shows; an answer without a usable Date header says nothing."""
    header = response.headers.get("Date")
    if not header:
        return
    if _read and _read[0][0] == header:
        server = _read[0][1]
    else:
        try:
            server = email.utils.parsedate_to_datetime(header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        _read[:] = [(header, server)]
    _last[:] = [clock() - server]


async def on_response(response: httpx.Response) -> None:
    """The hook httpx calls with each answer (``event_hooks``)."""
    observe(response)
