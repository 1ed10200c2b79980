"""The till's side of a relayed receipt: the sale a printed receipt records, sold through
the normal till flow (``Till.sell``: the same journal, outbox and exactly-once delivery as a
sale the POS posts), and the loyalty block that answer carries. It runs on the agent's
event loop; the relay (``relay.py``) asks it from its own thread and never waits longer
than its bound.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import logging
import re
import threading
import time
from collections import deque
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
    """What the desk uses of the till (``Till.sell``, ``Till.sale_at_once``)."""

    async def sell(
        self,
        request: SaleRequest,
        *,
        early: Early | None = None,
        decided: LoyaltyBlock | None = None,
    ) -> SaleAnswer: ...

    def sale_at_once(self, request: SaleRequest) -> LoyaltyBlock | None: ...

    async def prepare_at_once(self) -> None: ...


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
        #: sale id -> how many of its sales the desk handed to the loop, not yet recorded;
        #: changed under ``_guard`` by the relay's threads only
        self._open: dict[str, int] = {}
        #: the blocks decided here for the open sale ids among them: the same receipt again
        #: before its first record reached the journal prints the same QR (never the loop's
        #: path, which would take a card scanned meanwhile for a sale whose QR is printed)
        self._decided: dict[str, LoyaltyBlock] = {}
        self._guard = threading.Lock()
        #: sale ids the loop has finished with (appended there, read under the guard)
        self._recorded: deque[str] = deque()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the loop, at the relay's start: the till learns what deciding at once needs."""
        task = loop.create_task(self._till.prepare_at_once())
        self._tasks.add(task)  # kept until done: the loop holds only a weak reference
        task.add_done_callback(self._tasks.discard)

    def request_for(self, found: FoundReceipt, job: bytes) -> SaleRequest:
        """The sale a found receipt records."""
        return SaleRequest(
            sale_id=sale_id_of(found, job, datetime.fromtimestamp(self._clock())),
            amount=found.total,
            currency=self._currency,
            print_receipt=False,  # the block goes on the till's own receipt, not a slip
        )

    def at_once(
        self, request: SaleRequest, loop: asyncio.AbstractEventLoop
    ) -> tuple[LoyaltyBlock, Callable[[], None]] | None:
        """On the relay's thread: the block of a receipt with no customer waiting, decided
        here (``Till.sale_at_once``), and what hands its sale to the loop to be recorded,
        which the relay calls once the block is written and never waits for. None: the
        loop's path (``hand_on``) decides.

        Decision, one sale id at a time: a sale id the desk handed to the loop's path and
        that is not recorded yet is never decided here, as the journal cannot say yet what
        its first answer was (a card's credits, which a QR would double); one decided here
        and not recorded yet gets the same block again (the receipt resent, or two copies
        in one burst, while the first record waits for the loop), never the loop's path,
        which would take a card scanned meanwhile for a sale whose QR is on paper. The
        guard is held across the journal's look-up, so two relay threads never decide one
        id twice.
        """
        with self._guard:
            self._forget_recorded()
            sale_id = request.sale_id
            block = self._decided.get(sale_id)
            if block is None and self._open.get(sale_id):
                return None  # handed to the loop's path: its first answer is the loop's
            if block is None:
                try:
                    block = self._till.sale_at_once(request)
                except Exception:  # the loop's path then says what is wrong
                    log.exception("passthrough: the block could not be decided on the relay")
                    block = None
                if block is None:
                    return None
                self._decided[sale_id] = block
            # recorded again, it is a repeat of the first record: the same answer
            self._open[sale_id] = self._open.get(sale_id, 0) + 1

        def record() -> None:
            asyncio.run_coroutine_threadsafe(self._record(request, block), loop)

        return block, record

    def hand_on(self, request: SaleRequest, told: Told, loop: asyncio.AbstractEventLoop) -> None:
        """On the relay's thread: the sale to the loop, whose answer ``told`` gets."""
        with self._guard:
            self._forget_recorded()
            self._open[request.sale_id] = self._open.get(request.sale_id, 0) + 1
        asyncio.run_coroutine_threadsafe(self.sell(request, told), loop)

    def _forget_recorded(self) -> None:
        """Under the guard: the sales the loop has finished with are no longer open."""
        while self._recorded:
            sale_id = self._recorded.popleft()
            if (left := self._open.get(sale_id, 0) - 1) > 0:
                self._open[sale_id] = left
            else:
                self._open.pop(sale_id, None)
                self._decided.pop(sale_id, None)  # the journal holds it from here on

    async def _record(self, request: SaleRequest, block: LoyaltyBlock) -> None:
        """The sale whose QR the relay printed, recorded through the till's one path."""
        sale, amount = request.sale_id, request.amount
        log.info("passthrough: sale %s of %s: qr, minted on the relay", sale, amount)
        try:
            await self._till.sell(request, decided=block)
        except Exception:
            # the QR printed collects once with or without this record (its token's id is
            # the register's and the sale's); only the journal's record is missing
            log.exception("passthrough: a printed sale could not be recorded")
        finally:
            self._recorded.append(request.sale_id)  # the loop never waits for the guard

    async def sell(self, request: SaleRequest, told: Told) -> None:
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
        finally:
            self._recorded.append(request.sale_id)
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
