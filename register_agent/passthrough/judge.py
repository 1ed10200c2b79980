"""What goes before a relayed receipt's cut: the template's verdict on the job so far, and
for the customer's receipt the loyalty block from the till (``desk.py``), fetched from the
agent's event loop within a bound. Every way this can go wrong ends in a reason and no
block: the relay then passes the job on untouched (fail open), and the counters say why.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from register_agent.config import PassthroughConfig, ReceiptConfig
from register_agent.config.passthrough import CutDialect
from register_agent.counter.messages import LoyaltyBlock
from register_agent.errors import CounterRefusal
from register_agent.passthrough.block import Render, ShapedRender, block_bytes, block_layout
from register_agent.passthrough.desk import PassthroughDesk, Told
from register_agent.passthrough.escpos_reader import DecodedJob, StreamOutOfSync
from register_agent.passthrough.template import FoundReceipt, Unmatched, decode_for, find_sale

log = logging.getLogger(__name__)

#: serves the relay's sockets while it waits for the block (``Relay._serve_until``)
Service = Callable[["concurrent.futures.Future[Any]", float], None]


@dataclass(frozen=True)
class Verdict:
    """``insert``: the block's bytes (empty: nothing); ``closed``: the job is decided (a
    block went in, or its receipt must never get one) and counted with ``reason`` (None:
    with a block; else why it passed untouched)."""

    insert: bytes = b""
    closed: bool = False
    reason: str | None = None
    #: called once ``insert`` is written to the printer: the sale of a block decided on the
    #: relay's thread goes to the event loop then, so the loop's work on it never competes
    #: with the relay for the interpreter while the receipt is on its way
    then: Callable[[], None] | None = None


class Deciding(Protocol):
    """What the relay asks at each cut and at each job's end (``Judge``, or ``Untouched``)."""

    @property
    def picks_last(self) -> bool: ...

    def at_cut(self, job: bytes, cut: int, service: Service) -> Verdict: ...

    def at_end(self, job: bytes, service: Service) -> Verdict: ...


class Untouched:
    """Every job relayed as it came, with no block (``passthrough-learn`` records one)."""

    picks_last = False

    def at_cut(self, job: bytes, cut: int, service: Service) -> Verdict:
        return Verdict()

    def at_end(self, job: bytes, service: Service) -> Verdict:
        return Verdict(reason="recorded")


class Judge:
    def __init__(
        self,
        *,
        passthrough: PassthroughConfig,
        desk: PassthroughDesk,
        loop: asyncio.AbstractEventLoop,
        receipt: ReceiptConfig,
        width: int,
        render: Render,
        wait_s: float,
    ) -> None:
        self._passthrough = passthrough
        self._desk = desk
        self._loop = loop
        self._receipt = receipt
        self._width = width
        self._render = ShapedRender(render)
        self.wait_s = wait_s
        #: the customer's receipt is the job's last one ([passthrough.template] pick)
        self.picks_last = passthrough.template.pick == "last"

    def at_cut(self, job: bytes, cut: int, service: Service) -> Verdict:
        """``job`` runs up to and including the cut at ``cut``; the block goes before it
        when the template finds the customer's receipt ends there."""
        return self._judge(job, cut, service)

    def at_end(self, job: bytes, service: Service) -> Verdict:
        """The job ended (its connection, or an idle gap): a receipt with no cut after it
        gets its block at the end."""
        return self._judge(job, None, service)

    def _judge(self, job: bytes, cut: int | None, service: Service) -> Verdict:
        read = self._read(job, cut)
        if isinstance(read, Verdict):
            return read
        found, decoded = read
        decided = self._block(found, job, service)
        if isinstance(decided, str):
            return Verdict(closed=True, reason=decided)
        block, then = decided
        try:
            layout = block_layout(block, self._receipt, self._width)
            before = job if cut is None else job[:cut]
            commands = [c for c in decoded.commands if c.offset < len(before)]
            inserted = block_bytes(layout, self._render, before, commands)
        except Exception:  # the sale is recorded; only its block is lost
            log.exception("passthrough: the loyalty block could not be rendered")
            return Verdict(closed=True, reason="error", then=then)
        reason = None if inserted else "no_loyalty"
        return Verdict(insert=inserted, closed=True, reason=reason, then=then)

    def _read(self, job: bytes, cut: int | None) -> tuple[FoundReceipt, DecodedJob] | Verdict:
        """The customer's receipt when it ends at ``cut``, else the verdict without it."""
        try:
            settings = self._passthrough
            decoded = decode_for(job, settings)  # every reading setting of [passthrough]
            found = find_sale(decoded, settings.template)
        except StreamOutOfSync:
            return Verdict(reason="out_of_sync")
        except Exception:  # fail open: a bug in the reader or the template stops no receipt
            log.exception("passthrough: the receipt could not be read; passed untouched")
            return Verdict(reason="error")
        refused = _refusal(found, decoded, job, cut, settings)
        if refused is not None or isinstance(found, Unmatched):
            return refused or Verdict(reason="no_total")
        return found, decoded

    def _block(
        self, found: FoundReceipt, job: bytes, service: Service
    ) -> tuple[LoyaltyBlock, Callable[[], None] | None] | str:
        """The till's block (with what records its sale once it is printed, when decided
        here), or the reason there is none. Never longer than ``wait_s``: the till's own
        wait for the credits (``[till] receipt_wait_s``) is inside it, so a block comes in
        time unless the event loop or the journal hangs."""
        request = self._desk.request_for(found, job)
        at_once = self._desk.at_once(request, self._loop)  # no customer, v3: no loop waited for
        if at_once is not None:
            return at_once
        future: Told = concurrent.futures.Future()
        self._desk.hand_on(request, future, self._loop)
        deadline = time.monotonic() + self.wait_s
        service(future, deadline)
        if not future.done():
            # The sale may still be recorded and credited (the till goes on): only the
            # block is missing, so the customer's credits are not lost.
            log.warning(
                "passthrough: no loyalty block within %.1f s; passed untouched", self.wait_s
            )
            return "loyalty_timeout"
        failure = future.exception()
        if isinstance(failure, CounterRefusal):
            log.warning("passthrough: the till refused the receipt's sale: %s", failure)
            return "refused"
        if failure is not None:
            log.error("passthrough: the loyalty path failed: %r", failure, exc_info=failure)
            return "error"
        result: LoyaltyBlock = future.result()
        return result, None


def _refusal(
    found: FoundReceipt | Unmatched,
    decoded: DecodedJob,
    job: bytes,
    cut: int | None,
    settings: PassthroughConfig,
) -> Verdict | None:
    """Why the found receipt gets no block here; None when it gets one."""
    if isinstance(found, Unmatched):
        return Verdict(reason=found.reason)
    if found.cut_offset != cut:
        return Verdict(reason="no_total")  # the customer's receipt is not this one
    if found.is_copy:
        return Verdict(closed=True, reason="copy")  # a reprint never credits
    if cut is None and not decoded.cut_offsets and _cuts_otherwise(job, settings):
        # no cut this dialect knows, but one of the other: the block "at the end" would
        # print after the real cut, on the next customer's paper
        return Verdict(reason="unknown_dialect")
    return None


def _cuts_otherwise(job: bytes, settings: PassthroughConfig) -> bool:
    """Whether the job cuts the paper in the other dialect (a printer set up wrongly)."""
    other: CutDialect = "star-line" if settings.cut_dialect == "epson" else "epson"
    try:
        return bool(decode_for(job, settings.model_copy(update={"cut_dialect": other})).cut_offsets)
    except StreamOutOfSync:
        return True
