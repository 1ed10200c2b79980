"""The outbox's operation handlers: what each kind of operation sends to the Register API,
and how an unknown outcome is cleared up (docs/architecture.md, "Exactly once").

The kinds (``journal/kinds.py``) and their payloads are the contract with the till, which
writes them (``till/loyalty_block.py``, ``till/after_sale.py``, ``counter/claims.py``): one
payload and one result model per kind (``journal/payloads.py``, ``journal/results.py``),
and one handler (a sale's credits: ``outbox/credits.py``). A handler's steps that can apply
nothing (``prepare``) are saved with the move to in flight; each later intermediate result
is made durable with ``progress.save`` before the request that depends on it, so
reconciliation after a crash at any point knows what may have been posted.
"""

from __future__ import annotations

from register_agent.journal import Journal
from register_agent.journal.kinds import (
    COLLECT_REWARD,
    CREDIT_RECEPTION,
    REFUND,
    REVERSE_CLAIM,
    REVERSE_COLLECTION,
    REWARD_CLAIM,
    STAGED_CREDIT_RECEPTION,
    VOUCHER,
)
from register_agent.loyalty import LoyaltyService
from register_agent.loyalty.bundle import Loyalty
from register_agent.loyalty.vouchers import Vouchers
from register_agent.outbox.claims import SETTLE_AFTER_S, RewardClaimHandler
from register_agent.outbox.collectables import CollectionHandler
from register_agent.outbox.contract import OperationHandler
from register_agent.outbox.credits import BETWEEN_POS_TRANSACTION_AND_CREDIT, CreditReceptionHandler
from register_agent.outbox.reversals import RefundHandler, ReverseClaimHandler
from register_agent.outbox.staged import StagedCreditHandler
from register_agent.outbox.vouchers import VoucherHandler

__all__ = [
    "BETWEEN_POS_TRANSACTION_AND_CREDIT",
    "CREDIT_RECEPTION",
    "REFUND",
    "REVERSE_CLAIM",
    "STAGED_CREDIT_RECEPTION",
    "CreditReceptionHandler",
    "RefundHandler",
    "ReverseClaimHandler",
    "StagedCreditHandler",
    "make_handlers",
]


def make_handlers(
    services: Loyalty | LoyaltyService,
    journal: Journal,
    *,
    claim_settle_s: float = SETTLE_AFTER_S,
    vouchers: Vouchers | None = None,
) -> dict[str, OperationHandler]:
    """The outbox's handler table: one handler per operation kind, from the bundle's
    services (or a ``LoyaltyService`` alone: no collectable rewards)."""
    loyalty = services.service if isinstance(services, Loyalty) else services
    collectables = services.collectables if isinstance(services, Loyalty) else None
    return {
        VOUCHER: VoucherHandler(vouchers, journal),
        COLLECT_REWARD: CollectionHandler(collectables, COLLECT_REWARD),
        REVERSE_COLLECTION: CollectionHandler(collectables, REVERSE_COLLECTION),
        CREDIT_RECEPTION: CreditReceptionHandler(loyalty, journal),
        STAGED_CREDIT_RECEPTION: StagedCreditHandler(loyalty),
        REFUND: RefundHandler(loyalty, journal),
        REVERSE_CLAIM: ReverseClaimHandler(loyalty, journal),
        REWARD_CLAIM: RewardClaimHandler(loyalty, journal, settle_after_s=claim_settle_s),
    }
