"""Reconciliation where every write carries a key of ours that the server refuses twice
(``LoyaltyService.keyed_writes``: the orders backend's external identifiers), beside the
handlers of ``handlers`` and ``reversals`` that send them.

A sale's order whose answer was lost is looked up by its key (the documented find call)
before anything is sent again: found, it is done with what the find tells; not found, it
was never made and is sent again under the same key, which the server would refuse
(AlreadyApplied) had it landed meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from register_agent.journal import Operation
from register_agent.journal.payloads import CreditReceptionPayload
from register_agent.loyalty import CustomerRef, LoyaltyService
from register_agent.loyalty.domain import SaleLine
from register_agent.outbox.contract import Delivered, Reconciled, amount_of, award_result
from register_agent.outbox.reversals import balance_or_none

log = logging.getLogger(__name__)


def sale_lines(payload: CreditReceptionPayload) -> tuple[SaleLine, ...]:
    """The sale's articles as the loyalty service takes them (the order's line items)."""
    return tuple(
        SaleLine(
            text=line.text,
            amount=amount_of(line.amount),
            product=line.product,
            quantity=line.quantity,
        )
        for line in payload.lines
    )


async def reconcile_keyed_award(
    loyalty: LoyaltyService,
    operation: Operation,
    payload: CreditReceptionPayload,
    customer: CustomerRef,
) -> Delivered | Reconciled:
    """Found by its key: delivered, with the balance read now; not found: not applied,
    unless the server refused the key as taken (``already_applied``): then our order must
    exist, and a person looks at why the find does not show it (review), never a third
    send."""
    key = payload.pos_transaction
    if key is None:
        return Reconciled.NOT_APPLIED  # the key is saved before the first send
    found = await loyalty.find_award(customer, amount=amount_of(payload.amount), key=key)
    if not found:
        if payload.already_applied:
            log.warning("operation %s: its key is taken, the find shows no order", operation.id)
            return Reconciled.UNRESOLVABLE
        return Reconciled.NOT_APPLIED
    balance = await balance_or_none(loyalty, customer)
    award = replace(found[0], balance=balance, operation_id=operation.id)
    return Delivered(award.reception_id, award_result(award, customer))
