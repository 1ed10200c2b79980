"""The till's side of a relayed receipt: the sale a printed receipt records, sold through
the normal till flow (``Till.sell``: the same journal, outbox and exactly-once delivery as a
sale the POS posts), and the loyalty block that answer carries. It runs on the agent's
event loop; the relay (``relay.py``) asks it from its own thread and never waits longer
than its bound.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime

from register_agent.counter.messages import LoyaltyBlock, SaleRequest, TillApi
from register_agent.passthrough.block import CANNOT_COLLECT
from register_agent.passthrough.template import FoundReceipt
from register_agent.receipts.layout import Language

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


class PassthroughDesk:
    """Turns a found receipt into a sale and its loyalty block."""

    def __init__(
        self,
        till: TillApi,
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

    async def block(self, found: FoundReceipt, job: bytes) -> LoyaltyBlock:
        """Sell the receipt's total and say what its block prints. A card scanned within
        the customer window is consumed by this sale (as a POS sale consumes it)."""
        request = SaleRequest(
            sale_id=sale_id_of(found, job, datetime.fromtimestamp(self._clock())),
            amount=found.total,
            currency=self._currency,
            print_receipt=False,  # the block goes on the till's own receipt, not a slip
        )
        answer = await self._till.sell(request)
        block = answer.loyalty
        if self._stages_online and block.customer is None and block.state != "qr":
            # v1 without a card, whose staged reception was not made in the wait (the API
            # down or slow): its QR would come on a later slip of the POS's, which this
            # till never prints. The sale is recorded all the same, so the same receipt
            # printed again says the same.
            return LoyaltyBlock(state="none", lines=(CANNOT_COLLECT[self._language],))
        log.info("passthrough: sale %s of %s: %s", request.sale_id, found.total, block.state)
        return block
