"""The till's side of a relayed receipt: the sale a printed receipt records, sold through
the normal till flow (``Till.sell``: the same journal, outbox and exactly-once delivery as a
sale the POS posts), and the loyalty block that answer carries. It runs on the agent's
event loop; the relay (``relay.py``) asks it from its own thread and never waits longer
than its bound.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
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

#: where the relay's thread waits for the block (``judge.py``)
Told = concurrent.futures.Future[LoyaltyBlock]


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

    async def sell(self, found: FoundReceipt, job: bytes, told: Told) -> None:
        """Sell the receipt's total; ``told`` gets the block it prints as soon as the till
        may say it. A card scanned within the customer window is consumed by this sale (as
        a POS sale consumes it).

        The till tells a sale's answer before the journal's commit when it promises
        nothing the journal must keep (``SaleLoyalty.makes_no_promise``: a v3 QR, whose
        token the Register API collects once per sale id, or nothing), after it otherwise.
        ``told`` is set inside the sale's own step on the loop, so the relay's thread wakes
        then, and the commit goes on off the relay's path: the printer gets the block while
        the disk syncs.
        """
        request = SaleRequest(
            sale_id=sale_id_of(found, job, datetime.fromtimestamp(self._clock())),
            amount=found.total,
            currency=self._currency,
            print_receipt=False,  # the block goes on the till's own receipt, not a slip
        )

        def early(answer: SaleAnswer) -> None:
            _tell(told, self._printed(answer, request))

        try:
            answer = await self._till.sell(request, early=early)
        except Exception as exc:  # the judge counts it (below)
            if told.done():
                # the receipt printed its QR, which collects once with or without this
                # record; only the journal's record of the sale is missing
                log.exception("passthrough: a printed sale could not be recorded")
            else:  # a refusal or a failure: the judge's to count
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    told.set_exception(exc)
            return
        _tell(told, self._printed(answer, request))

    def _printed(self, answer: SaleAnswer, request: SaleRequest) -> LoyaltyBlock:
        """The block the receipt prints for the sale's answer."""
        block = answer.loyalty
        if self._stages_online and block.customer is None and block.state != "qr":
            # v1 without a card, whose staged reception was not made in the wait (the API
            # down or slow): its QR would come on a later slip of the POS's, which this
            # till never prints. The sale is recorded all the same, so the same receipt
            # printed again says the same.
            return LoyaltyBlock(state="none", lines=(CANNOT_COLLECT[self._language],))
        log.info("passthrough: sale %s of %s: %s", request.sale_id, request.amount, block.state)
        return block


def _tell(told: Told, block: LoyaltyBlock) -> None:
    """The first answer counts (the early one, when the till gave it)."""
    if not told.done():
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            told.set_result(block)
