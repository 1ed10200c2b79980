"""The loyalty block of a sale: the operations a paid sale queues for its credits, what its
receipt says at once, and what it says after the till's bounded wait for those credits, in
the words of ``receipts/sale_outcome.py`` (the slip's too). The ``Till`` in
``till/sale.py`` records the sale, this decides its loyalty part.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence

from register_agent.config import TillConfig
from register_agent.counter.collectables import collectables_off
from register_agent.counter.customers import BoundCustomer, sale_customer
from register_agent.counter.health import TillHealth
from register_agent.counter.messages import CardNotice, LoyaltyBlock, SaleAnswer, SaleRequest
from register_agent.errors import ConfigError, LoyaltyApiError
from register_agent.journal import Journal, NewOperation, Operation
from register_agent.journal.kinds import (
    COLLECT_REWARD,
    CREDIT_RECEPTION,
    STAGED_CREDIT_RECEPTION,
)
from register_agent.journal.payloads import (
    CollectionPayload,
    CreditReceptionPayload,
    StagedCreditPayload,
    StoredCustomer,
    StoredLine,
)
from register_agent.loyalty.domain import CustomerRef, LoyaltyService
from register_agent.outbox.settled import Settled
from register_agent.receipts.layout import Language, text
from register_agent.receipts.sale_outcome import Answered, Said, SaleOutcome, sale_outcome

log = logging.getLogger(__name__)

#: told a sale's answer before its commit (``Till.sell``), when ``SaleLoyalty.makes_no_promise``
Early = Callable[[SaleAnswer], None]


def customer_key(customer: CustomerRef | None, card: str | None) -> str | None:
    """The journal's ordering key: one customer's operations are delivered in order.

    The card comes first: a card sold offline has no customer yet, and the same card
    identified online later must queue behind it, not overtake it under another key.
    (Two cards of one member are two queues; their order does not change any balance.)
    """
    if card:
        return f"card:{card}"
    return f"customer:{customer.key}" if customer is not None else None


def with_customer(
    block: LoyaltyBlock,
    bound: BoundCustomer | None,
    notice: CardNotice | None,
    attributes: Mapping[str, str],
) -> LoyaltyBlock:
    """The sale's block with its scanned customer (``attributes``: what the receipt prints
    of them), or why the card the sale named does not collect; the block after the wait
    keeps both."""
    if bound is not None and block.customer is None:
        block = block.model_copy(update=sale_customer(bound, attributes))
    if notice is not None:
        block = block.model_copy(update={"notice": notice})
    return block


class SaleLoyalty:
    """Decides a sale's credit operations and its loyalty block, before and after the wait."""

    def __init__(
        self,
        journal: Journal,
        loyalty: LoyaltyService,
        health: TillHealth,
        *,
        till: TillConfig,
        language: Language,
        settled: Settled,
        collecting: bool = False,
    ) -> None:
        self._collecting = collecting  # collectable rewards (the client API) configured
        self._journal = journal
        self._loyalty = loyalty
        self._health = health
        self._config = till
        self._language = language
        self._settled = settled
        self._register_known = False  # the service remembers its register (v3)

    @staticmethod
    def makes_no_promise(request: SaleRequest, operations: Sequence[NewOperation]) -> bool:
        """Whether a new sale's first answer may be shown before the journal commits the sale.

        The journal keeps a sale's credits safe by committing its outbox operations before
        anyone is told of them: a receipt saying "points will be added" for a credit that was
        never committed (the agent killed in between) would be a promise nobody keeps. A sale
        with no operation makes no such promise. Its block is nothing, a locked card's notice,
        or (v3, no customer) the loyalty-token QR, which carries its credits itself: minted on
        the till, with the unique id ``<register>-<sale id>``, so the Register API collects
        every token of one sale once (1034 on a second claim), whether the sale is committed
        before the receipt prints, after it, or (killed in between) only when the till sends
        the same receipt again, which gives the same sale id. What such a sale's commit still
        brings is the record of the sale itself, not its credits. A sale that opens the drawer
        waits as before: its answer says how the drawer went.

        The pass-through goes further for a receipt with no customer waiting on v3
        (``Till.sale_at_once``): its block is a pure function of the register, the sale id
        and the total, so the relay's thread mints and prints it, and hands the sale to the
        loop without waiting (``Till.sell`` with ``decided``: the same exactly-once path). The
        loop honours that decision: the sale takes no customer, so a card scanned in that
        instant stays bound for the next sale, never credited on top of a printed QR. The
        relay may not skip the look-up of the sale id: a receipt sent again after its first
        print earned a card's credits must print that answer, not a QR crediting it twice.
        """
        return not operations and not request.open_drawer

    def token_block_now(self, request: SaleRequest) -> LoyaltyBlock | None:
        """``_token_block`` without the event loop, for the pass-through relay's thread: v3
        mints with no network call once its register is known (``learn_register``), so
        ``stage_credits`` then ends at its first step, run here by hand (before, it would
        reach the loop's API client). None: the loop's path (v1, no secret, not known)."""
        if self._loyalty.stages_online or request.amount <= 0 or not self._register_known:
            return None
        step = self._loyalty.stage_credits(request.sale_id, request.amount)
        try:
            step.send(None)
        except StopIteration as finished:
            staged = finished.value
        except (LoyaltyApiError, ConfigError, ValueError, RuntimeError):
            return None  # the loop's path says why on the receipt and in the log
        else:
            step.close()  # it would wait for the network: not on this thread
            return None
        return LoyaltyBlock(
            state="qr", lines=(text("scan_to_collect", self._language),), qr_url=staged.url
        )

    async def for_sale(
        self, request: SaleRequest, customer: CustomerRef | None, card: str | None
    ) -> tuple[list[NewOperation], LoyaltyBlock]:
        """The sale's operations (its credits first) and the loyalty block as far as it is
        known now."""
        collections = self.collections(request, customer, card)
        operations, block = await self._credits(request, customer, card)
        return operations + collections, block

    def collections(
        self, request: SaleRequest, customer: CustomerRef | None, card: str | None
    ) -> list[NewOperation]:
        """One ``collect_reward`` per collectable reward the sale names, whether or not the
        sale earns credits (a reward handed out with a sale of nothing is collected too).
        Refused before the sale is recorded when the client API is not configured."""
        if request.collect and not self._collecting:
            raise collectables_off()
        contact = customer.key if customer is not None else None
        return [
            NewOperation(
                id=uuid.uuid4().hex,
                kind=COLLECT_REWARD,
                # the sale's customer queue: a void's reverse waits behind the collection
                customer_key=customer_key(customer, card) or f"collectable:{collectable}",
                payload=CollectionPayload(
                    sale_id=request.sale_id, collectable_id=collectable, contact=contact
                ),
            )
            for collectable in request.collect
        ]

    async def _credits(
        self, request: SaleRequest, customer: CustomerRef | None, card: str | None
    ) -> tuple[list[NewOperation], LoyaltyBlock]:
        if request.amount <= 0:
            return [], LoyaltyBlock(state="none", lines=())
        sale_id, amount = request.sale_id, str(request.amount)
        if card is not None or customer is not None:
            named = StoredCustomer(key=customer.key, card=customer.card) if customer else None
            credit = NewOperation(
                id=uuid.uuid4().hex,
                kind=CREDIT_RECEPTION,
                customer_key=customer_key(customer, card),
                payload=CreditReceptionPayload(
                    sale_id=sale_id,
                    amount=amount,
                    lines=stored_lines(request),
                    customer=named,
                    card=card,
                    pos_transaction=None,
                ),
            )
            return [credit], self._pending_block()
        payload = StagedCreditPayload(sale_id=sale_id, amount=amount)
        if self._loyalty.stages_online:  # v1: a staged credit reception, through the API
            staged = NewOperation(uuid.uuid4().hex, STAGED_CREDIT_RECEPTION, None, payload)
            return [staged], self._pending_block()
        return [], await self._token_block(request)

    async def learn_register(self) -> None:
        """Look the register up once, on the loop, so that the first receipt's QR can be
        minted on the relay's thread too; offline, the first token minted here learns it."""
        if self._loyalty.stages_online:
            return
        try:
            await self._loyalty.register(deadline=self._loyalty.counter_deadline())
        except LoyaltyApiError as exc:  # offline: the first token minted on the loop learns it
            log.info("the register is not known yet (%s)", exc)
            return
        self._register_known = True

    async def _token_block(self, request: SaleRequest) -> LoyaltyBlock:
        """v3 without a customer: a loyalty token minted here, no API call (so it works
        offline, and nothing is sent that could be lost or doubled)."""
        try:
            staged = await self._loyalty.stage_credits(
                request.sale_id, request.amount, deadline=self._loyalty.counter_deadline()
            )
        except (LoyaltyApiError, ConfigError) as exc:
            log.warning("no loyalty QR for sale %s: %s", request.sale_id, exc)
            return LoyaltyBlock(state="none", lines=(text("no_qr", self._language),))
        self._register_known = True  # remembered now: ``token_block_now`` may mint too
        return LoyaltyBlock(
            state="qr", lines=(text("scan_to_collect", self._language),), qr_url=staged.url
        )

    def _pending_block(self) -> LoyaltyBlock:
        return LoyaltyBlock(state="pending", lines=(text("points_later", self._language),))

    async def after_wait(self, answer: SaleAnswer, operations: list[NewOperation]) -> SaleAnswer:
        """Wait (bounded) for the sale's operation, then say what is known."""
        operations = [op for op in operations if op.kind != COLLECT_REWARD]  # credits only
        if not operations:
            return answer
        # known to be offline: the credits cannot come in time, so do not keep the cashier
        offline = self._health.api_state in ("unreachable", "key_refused")
        wait_s = 0.0 if offline else self._config.receipt_wait_s
        await self._settled.wait([operations[0].id], wait_s)  # its first attempt's outcome
        operation = await self._journal.operation(operations[0].id)
        if operation is None:
            return answer
        block = settled_block(answer.loyalty, operation, self._language)
        return answer.model_copy(update={"loyalty": block})


def settled_block(before: LoyaltyBlock, operation: Operation, language: Language) -> LoyaltyBlock:
    """The sale's loyalty block once its credit (or staged credit) reception is where it
    is: ``sale_outcome``'s words, the slip's too. The customer, their attribute lines and
    the named card's notice stay as the sale's answer had them."""
    credit = operation if operation.kind == CREDIT_RECEPTION else None
    staged = operation if operation.kind == STAGED_CREDIT_RECEPTION else None
    outcome = sale_outcome(Answered.from_stored(before.model_dump(mode="json")), credit, staged)
    customer = before.customer
    if outcome.said is Said.CREDITED and customer is not None and outcome.balance is not None:
        customer = customer.model_copy(update={"balance": outcome.balance})
    kept = {"customer": customer, "customer_lines": before.customer_lines, "notice": before.notice}
    return _said(outcome, language).model_copy(update=kept)


def _said(outcome: SaleOutcome, language: Language) -> LoyaltyBlock:
    """The block's state, lines, numbers and QR for ``outcome``."""
    if outcome.said is Said.CREDITED:
        # no numbers: a person marked the credits applied (review); they are not known here
        lines = []
        if outcome.credits is not None:
            lines.append(f"{text('credits_earned', language)}: {outcome.credits}")
        if outcome.balance is not None:
            lines.append(f"{text('new_balance', language)}: {outcome.balance}")
        return LoyaltyBlock(
            state="credited", lines=tuple(lines), credits=outcome.credits, balance=outcome.balance
        )
    if outcome.said is Said.PENDING:
        return LoyaltyBlock(state="pending", lines=(text("points_later", language),))
    if outcome.said is Said.QR:
        return LoyaltyBlock(
            state="qr",
            lines=(text("scan_to_collect", language),),
            qr_url=outcome.qr_url,
            credits=outcome.credits,
        )
    if outcome.said is Said.NO_QR:
        return LoyaltyBlock(state="none", lines=(text("no_qr", language),))
    return LoyaltyBlock(state="none", lines=())  # a credit refused for good: nothing to promise


def stored_lines(request: SaleRequest) -> tuple[StoredLine, ...]:
    """The sale's articles with an amount, as its credit operation keeps them (the orders
    backend's line items); text-only lines are the receipt's alone."""
    return tuple(
        StoredLine(
            text=line.text,
            amount=str(line.amount),
            product=line.product,
            quantity=line.quantity or 1,
        )
        for line in request.lines
        if line.amount is not None
    )
