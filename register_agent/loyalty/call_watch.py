"""What the agent's HTTP calls tell around themselves: the observers of every attempt (the
metrics), whether a request's bytes started to leave (``SendWatch``, which decides "not
applied" from "may have applied"), and the query kept out of httpx's own log lines. Used by
``http.ApiHttp`` for every call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from register_agent.errors import LoyaltyApiError

log = logging.getLogger(__name__)

#: told of every attempt: (method, seconds, outcome); the outcome is "ok", the API's error
#: code, the HTTP status, or "transport" (nothing came back); never a path or a value
CallObserver = Callable[[str, float, str], None]
_observers: list[CallObserver] = []


def observe_calls(observer: CallObserver) -> Callable[[], None]:
    """Register ``observer`` (the metrics); returns the function that removes it again."""
    _observers.append(observer)
    return lambda: _observers.remove(observer)


def tell(method: str, started: float, error: LoyaltyApiError | None) -> None:
    """Tells the observers of one attempt that ended with ``error`` (None: it succeeded)."""
    outcome = "ok" if error is None else _outcome_of(error)
    elapsed = time.monotonic() - started
    for observer in _observers:
        try:
            observer(method, elapsed, outcome)
        except Exception:  # a metrics bug must never fail a call that succeeded
            log.exception("a call observer failed")


def _outcome_of(exc: LoyaltyApiError) -> str:
    code = getattr(exc, "code", None)
    if code is not None:
        return str(code)
    status = getattr(exc, "status", 0)
    return str(status) if status else "transport"


class _QueryRedactor(logging.Filter):
    """Drops the query from the URLs httpx logs at INFO: it may hold a card value."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) else arg
                for arg in record.args
            )
        return True


# card values are never logged in full; httpx logs every request's URL, query included
logging.getLogger("httpx").addFilter(_QueryRedactor())


class SendWatch:
    """Learns from httpcore's trace events whether request bytes started to leave.

    Only the agent's own ``httpx.AsyncHTTPTransport`` reports these events; with any other
    transport (a test's MockTransport) the request counts as sent from the start, which
    is the cautious reading.
    """

    def __init__(self, *, traced: bool) -> None:
        self.sent = not traced

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        if event.endswith("send_request_headers.started"):
            self.sent = True
