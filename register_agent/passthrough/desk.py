"""The till's side of a relayed receipt: the sale a printed receipt records, sold through
the normal till flow (``Till.sell``: the same journal, outbox and exactly-once delivery as a
sale the POS posts), and the loyalty block that answer carries. It runs on the agent's
event loop; the relay (``relay.py``) asks it from its own thread and never waits longer
than its bound.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from register_agent.counter.messages import LoyaltyBlock, SaleAnswer, SaleRequest
from register_agent.passthrough.block import CANNOT_COLLECT
from register_agent.passthrough.template import FoundReceipt
from register_agent.receipts.layout import Language
from register_agent.till.loyalty_block import Early

log = logging.getLogger(__name__)

_NOT_IN_SALE_ID = re.compile(r"[^A-Za-z0-9._:/-]+")


def sale_id_of(found: FoundReceipt, job: bytes, day: datetime) -> str:
    """The sale id a receipt records: the same receipt sent again (a resend after a
    restart, a till that retries) is the same sale, so it never credits twice.

    Decision (the receipt says nothing more): the till's receipt number with the day it was
    printed, because many tills count their receipts from 1 again each day or each shift,
    and one number may then name two sales on two days; a job with no receipt number is
    named by a digest of its bytes (a till prints the time on its receipts, so two sales
    give two digests, and a resend the same one).
    """
    if found.receipt_no:
        number = _NOT_IN_SALE_ID.sub("-", found.receipt_no).strip("-")[:40]
        if number:
            return f"pt-{day:%Y%m%d}-{number}"
    return "pt-" + hashlib.sha256(job).hexdigest()[:40]


class SellingTill(Protocol):
    """What the desk uses of the till (``Till.sell``)."""

    async def sell(self, request: SaleRequest, *, early: Early | None = None) -> SaleAnswer: ...


class PassthroughDesk:
    """Turns a found receipt into a sale and its loyalty block."""

    def __init__(
        self,
        till: SellingTill,
        *,
        currency: str,
        language: Language,
        stages_online: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._till = till
        self._currency = currency
        self._language = language
        self._stages_online = stages_online
        self._clock = clock
        self._recording: set[asyncio.Future[SaleAnswer]] = set()

    async def block(self, found: FoundReceipt, job: bytes) -> LoyaltyBlock:
        """Sell the receipt's total and say what its block prints. A card scanned within
        the customer window is consumed by this sale (as a POS sale consumes it)."""
        request = SaleRequest(
            sale_id=sale_id_of(found, job, datetime.fromtimestamp(self._clock())),
            amount=found.total,
            currency=self._currency,
            print_receipt=False,  # the block goes on the till's own receipt, not a slip
        )
        answer = await self._answer(request)
        block = answer.loyalty
        if self._stages_online and block.customer is None and block.state != "qr":
            # v1 without a card, whose staged reception was not made in the wait (the API
            # down or slow): its QR would come on a later slip of the POS's, which this
            # till never prints. The sale is recorded all the same, so the same receipt
            # printed again says the same.
            return LoyaltyBlock(state="none", lines=(CANNOT_COLLECT[self._language],))
        log.info("passthrough: sale %s of %s: %s", request.sale_id, found.total, block.state)
        return block

    async def _answer(self, request: SaleRequest) -> SaleAnswer:
        """The sale's answer as soon as the till may give it: before the journal's commit
        when it promises nothing the journal must keep (``SaleLoyalty.makes_no_promise``:
        a v3 QR, whose token the Register API collects once per sale id, or nothing),
        after it otherwise. The commit goes on meanwhile on the event loop, off the relay's
        path: the printer gets the block while the disk syncs."""
        told: asyncio.Future[SaleAnswer] = asyncio.get_running_loop().create_future()

        def early(answer: SaleAnswer) -> None:
            if not told.done():
                told.set_result(answer)

        selling = asyncio.ensure_future(self._till.sell(request, early=early))
        await asyncio.wait((told, selling), return_when=asyncio.FIRST_COMPLETED)
        if not told.done():
            told.cancel()
            return selling.result()  # a refusal or a failure is the judge's to count
        self._recording.add(selling)  # kept: a task nobody holds may be collected
        selling.add_done_callback(self._recorded)
        return told.result()

    def _recorded(self, selling: asyncio.Future[SaleAnswer]) -> None:
        self._recording.discard(selling)
        if not selling.cancelled() and (failure := selling.exception()) is not None:
            # the receipt printed its QR, which collects once with or without this record;
            # only the journal's record of the sale is missing
            log.error("passthrough: a printed sale could not be recorded: %r", failure)
