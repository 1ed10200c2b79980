"""One answer per sale id. The ``Till`` (``till/sale.py``) records a sale and answers it
once; every repeat of that sale (the POS timed out and sent it again, or sent it from two
places at once) gets that same answer: the one kept in the journal, or, while the first
request is still waiting for its credits, the one it is about to give.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from register_agent.config import TillConfig
from register_agent.counter.messages import LoyaltyBlock, SaleAnswer, SaleRequest
from register_agent.errors import CounterRefusal
from register_agent.journal import Journal, SaleRecord


def request_digest(request: SaleRequest) -> str:
    """The same sale id with the same body is a repeat; with another body, a conflict.

    Amounts are in whole cents already (``counter.messages.Amount``), so "12.5" and
    "12.50" give one digest: the same sale, spelt otherwise. ``confirmed`` is not part of
    the sale (a resend with or without it is the same sale), and leaving it out keeps the
    digests of sales recorded before it existed.
    """
    # fields that leave the digest alone: "confirmed" (a resend with or without it is the
    # same sale), and "open_drawer" when false (a sale recorded before the drawer was a
    # field is a repeat, not a conflict)
    left_out: dict[str, Any] = dict.fromkeys(
        ("confirmed",) if request.open_drawer else ("confirmed", "open_drawer"), True
    )
    # a line's product and quantity likewise, when no line has them: the sales recorded
    # before lines had them keep their digests
    if all(line.product is None and line.quantity is None for line in request.lines):
        left_out["lines"] = {"__all__": {"product", "quantity"}}
    canonical = json.dumps(request.model_dump(mode="json", exclude=left_out), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def first_answer(request: SaleRequest, block: LoyaltyBlock, till: TillConfig) -> SaleAnswer:
    """A new sale's answer before the wait for its credits: its loyalty block, and who prints."""
    prints = request.print_receipt if request.print_receipt is not None else True
    return SaleAnswer(
        sale_id=request.sale_id,
        loyalty=block,
        receipt="printing" if prints and till.prints != "pos" else "pos",
    )


def repeat(existing: SaleRecord, digest: str) -> SaleAnswer:
    """The answer kept with a recorded sale, for a request that repeats it."""
    if existing.request_digest != digest:
        raise CounterRefusal(
            "sale_conflict",
            f"sale {existing.sale_id} was already recorded with other details; "
            "use a new sale id for a new sale",
            status=409,
        )
    return SaleAnswer.model_validate(existing.answer)


class SaleAnswers:
    """Answers each sale id once, and hands every repeat the same answer.

    The first request of a sale id answers only after its bounded wait for the credits,
    and keeps its final answer in the journal before it returns. A repeat arriving during
    that wait would read the answer recorded so far ("pending") while the first one then
    says "credited": two answers to one sale. So a repeat waits for the first request's
    answer instead, in this process (one agent serves a till; after a restart the journal
    holds the answer the first request gave, or "pending" when it never got to give one).
    """

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        #: sale id -> (its request's digest, the answer it will give; None: it failed)
        self._answering: dict[str, tuple[str, asyncio.Future[SaleAnswer | None]]] = {}

    async def answer(
        self, request: SaleRequest, digest: str, record: Callable[[], Awaitable[SaleAnswer]]
    ) -> SaleAnswer:
        """The sale's one answer: ``record`` it when it is new, else the first's answer."""
        while (running := self._answering.get(request.sale_id)) is not None:
            first_digest, first = running
            if first_digest != digest:
                raise CounterRefusal(
                    "sale_conflict",
                    f"sale {request.sale_id} is being recorded with other details; "
                    "use a new sale id for a new sale",
                    status=409,
                )
            # shielded: a repeat given up by its POS must not cancel the first request
            answered = await asyncio.shield(first)
            if answered is not None:
                return answered
            # the first request failed (a refusal, the journal): this one tries itself
        # registered before the first await, so a repeat arriving meanwhile finds it
        first = asyncio.get_running_loop().create_future()
        self._answering[request.sale_id] = (digest, first)
        answered = None
        try:
            # read here, not on the reader's thread: a look-up by key on pages the writer
            # has just written takes tens of microseconds, and the hop there and back cost
            # each sale five times that
            existing = self._journal.sale_now(request.sale_id)
            answered = repeat(existing, digest) if existing is not None else await record()
            return answered
        finally:
            del self._answering[request.sale_id]
            first.set_result(answered)
