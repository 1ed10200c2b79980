"""A small till for the operation handlers' tests: a real journal file, the real outbox
with the real handlers, and the real loyalty service over loopback HTTP to the sandbox.

The outbox runs on a clock the test moves, so a retry "minutes later" takes no time.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from register_agent.config import ApiConfig
from register_agent.journal import Journal, NewOperation, Operation, OperationState, SaleRecord
from register_agent.loyalty import LoyaltyService, make_loyalty
from register_agent.outbox.handlers import CREDIT_RECEPTION, STAGED_CREDIT_RECEPTION, make_handlers
from register_agent.outbox.worker import Outbox, OutboxSettings
from tests.conftest import Sandbox
from tests.support.ports import closed_port
from tests.support.stored import as_payload

TOKEN_SECRET = "sandbox-token-secret"
JAN_V3 = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
JAN_V1 = "7731"
JAN_CARD = "A1B2C3D4"
JAN_CARD_V1 = "55120"  # the v1 loyalty card id of A1B2C3D4
UNREGISTERED_CARD = "D4E5F6A7"
INACTIVE_CARD = "E5F6A7B8"
COFFEE_V3 = "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
CREDIT_RECEPTIONS = r"/api/v[13]/register/credit-receptions$"
POS_TRANSACTIONS = r"/api/v3/register/pos-transactions$"
SETTINGS = OutboxSettings(backoff_base_s=1.0, backoff_max_s=4.0, unknown_delay_s=1.0)
ACTIVE = (OperationState.PENDING, OperationState.IN_FLIGHT, OperationState.UNKNOWN)


def api_config(sandbox: Sandbox, version: str, **overrides: Any) -> ApiConfig:
    values: dict[str, Any] = {
        "version": version,
        "base_url": sandbox.url,
        "api_key": sandbox.v1_key if version == "v1" else sandbox.v3_key,
        "loyalty_token_secret": TOKEN_SECRET,
        "loyalty_token_base_url": sandbox.url,
        "connect_timeout_s": 1.0,
        "read_timeout_s": 3.0,
    }
    return ApiConfig(**{**values, **overrides})


def closed_port_url() -> str:
    """A loopback URL where nothing listens: every request is refused (the API is down)."""
    return f"http://127.0.0.1:{closed_port()}"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Till:
    """Sales into the journal, the outbox delivering them, and what the sandbox applied."""

    journal: Journal
    sandbox: Sandbox
    loyalty: LoyaltyService
    clock: Clock = field(default_factory=Clock)
    outbox: Outbox = field(init=False)

    def __post_init__(self) -> None:
        self.use(self.loyalty)

    def use(self, loyalty: LoyaltyService) -> None:
        """Deliver through ``loyalty`` from now on (e.g. the API is reachable again)."""
        self.loyalty = loyalty
        handlers = make_handlers(loyalty, self.journal)
        self.outbox = Outbox(
            self.journal, handlers, SETTINGS, clock=self.clock, rng=random.Random(4)
        )

    async def sell(
        self,
        amount: str,
        *,
        customer: str | None = None,
        card: str | None = None,
        sale_id: str | None = None,
        pos_transaction: str | None = None,
    ) -> str:
        """A paid sale with its credit reception (staged when nobody is named); its op id."""
        sale_id = sale_id or f"R-{uuid.uuid4().hex[:8]}"
        cents = int(Decimal(amount) * 100)
        if customer is None and card is None:
            kind, key = STAGED_CREDIT_RECEPTION, None
            payload: dict[str, Any] = {"sale_id": sale_id, "amount": amount}
        else:
            kind = CREDIT_RECEPTION
            key = f"customer:{customer}" if customer else f"card:{card}"
            who = {"key": customer, "card": card} if customer else None
            payload = {
                "sale_id": sale_id,
                "amount": amount,
                "customer": who,
                "card": card,
                "pos_transaction": pos_transaction,
            }
        record = SaleRecord(sale_id, "digest", cents, "EUR", key, {}, "paid", self.clock())
        op_id = uuid.uuid4().hex
        await self.journal.record_sale(
            record, [NewOperation(op_id, kind, key, as_payload(kind, payload))], print_receipt=False
        )
        return op_id

    async def queue(
        self, kind: str, customer_key: str | None, payload: dict[str, Any], sale_id: str
    ) -> str:
        """A later operation (a refund, a reversal) behind what the customer already has."""
        op_id = uuid.uuid4().hex
        operation = NewOperation(op_id, kind, customer_key, as_payload(kind, payload))
        await self.journal.add_operations(sale_id, [operation], self.clock())
        return op_id

    async def deliver(self, rounds: int = 6) -> None:
        """Let the outbox work, moving the clock past every backoff, until nothing is due."""
        for _ in range(rounds):
            await self.outbox.drain_once()
            active = [op for state in ACTIVE for op in await self.journal.operations_in(state)]
            if not active:
                return
            self.clock.now += 60

    async def op(self, op_id: str) -> Operation:
        operation = await self.journal.operation(op_id)
        assert operation is not None
        return operation

    def rows(self, kind: str) -> list[dict[str, Any]]:
        return [row for row in self.sandbox.ledger() if row["kind"] == kind]


def loyalty_for(sandbox: Sandbox, version: str, **overrides: Any) -> LoyaltyService:
    return make_loyalty(api_config(sandbox, version, **overrides)).service


@contextlib.asynccontextmanager
async def till_on(directory: Path, sandbox: Sandbox, version: str) -> AsyncIterator[Till]:
    """A journal in ``directory`` and a ``version`` client on the sandbox, closed after."""
    journal = Journal.open(directory / "journal.sqlite3")
    loyalty = loyalty_for(sandbox, version)
    try:
        yield Till(journal, sandbox, loyalty)
    finally:
        await loyalty.aclose()
        journal.close()
