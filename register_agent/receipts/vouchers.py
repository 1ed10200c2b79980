"""The voucher part of a sale's receipt: each voucher the sale took, by its name, the
voucher shown by the last 4 characters of its code (a code redeems it, like a card).

Decision: a voucher locked for the sale and not released is printed as redeemed, also
while its redeem is still on its way: the outbox redeems it (``outbox/vouchers.py``), the
lock keeps any other till from taking it meanwhile, and the slip must not wait for the
voucher service. A released voucher (the sale voided, the lock given up) is not printed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from register_agent.common.masking import safe_tail
from register_agent.journal import Operation
from register_agent.journal.payloads import VoucherPayload
from register_agent.journal.results import VoucherResult
from register_agent.receipts.layout import Language, Receipt

_REDEEMED: dict[Language, str] = {
    "en": "Voucher ****{tail} redeemed: {name}",
    "nl": "Tegoedbon ****{tail} ingewisseld: {name}",
}


def voucher_lines(operations: Sequence[Operation], language: Language) -> tuple[str, ...]:
    lines = []
    for operation in operations:
        payload = operation.payload
        if not isinstance(payload, VoucherPayload) or payload.action == "release":
            continue
        result = operation.result
        if isinstance(result, VoucherResult) and result.outcome != "redeemed":
            continue
        if operation.state in ("dead", "review"):
            continue
        tail = safe_tail(payload.code)
        lines.append(_REDEEMED[language].format(tail=tail, name=payload.name))
    return tuple(lines)


def with_vouchers(receipt: Receipt, operations: Sequence[Operation], language: Language) -> Receipt:
    """``receipt`` with the vouchers its sale took among its notes."""
    lines = voucher_lines(operations, language)
    return dataclasses.replace(receipt, notes=(*receipt.notes, *lines)) if lines else receipt
