"""The orders backend's request bodies, as pure functions beside ``service``: a sale as an
order (its lines as line items, discounts at the order's level), the keys that make each
write happen once, and the lines an order return gives back for a refund's money.

Amounts are integers of cents, as the docs' Orders pages want every monetary field.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Any

from register_agent.common.money import to_cents
from register_agent.loyalty.domain import SaleLine
from register_agent.loyalty.orders.models import LineItem, Order

#: the name of the line (or discount) that makes the lines add up to what was paid
REST_OF_SALE = "Rest of the sale"
#: the name of the one line of a sale the POS sent without lines
WHOLE_SALE = "Sale"


def order_key(register_identifier: str, sale_id: str) -> str:
    """The order's ``external_identifier``: the register's identifier, ``#``, the sale id.

    The docs want it "unique across all Orders" of the account, and the server refuses a
    taken one: the key that makes a resent order land once. Sale ids are unique per till
    only (every POS counts its own "0042"), so the till's register identifier (unique in
    the account, the same for every sale of this till) goes first; ``#`` can be no part of
    a sale id (``PosId``), so no two (register, sale) pairs give the same key. Derived once
    and saved with the operation before the first send, so a later change of register
    cannot change the key of a sale already on its way.
    """
    return f"{register_identifier}#{sale_id}"


def whole_return_key(order: str) -> str:
    """The key of the return of a whole order: one per order (a sale refunded whole has
    nothing left to return), so a resend is refused as taken."""
    return f"{order}#return"


def part_return_key(order: str, operation_id: str) -> str:
    """The key of a part refund's return: the refund's own operation, one per refund."""
    return f"{order}#{operation_id}"


def order_body(
    key: str, contact: str, shop: str, amount: Decimal, lines: Sequence[SaleLine]
) -> dict[str, Any]:
    """``POST /orders/create-and-process`` for a paid sale of ``amount``.

    Decided where the docs are silent on a till's receipt lines: a line with a positive
    amount is a line item (``price`` per unit rounded up, the difference its
    ``discount_amount``); a negative one (a discount on the receipt) an order-level
    discount. The amount paid is the truth (what v3 credits too): should the lines not add
    up to it (no lines, a subtotal line, a rounding), the rest goes as one more line item
    or order-level discount, so ``total_order_amount`` and the lines agree, as the docs ask.
    """
    items: list[dict[str, Any]] = []
    discounts: list[dict[str, Any]] = []
    for line in lines:
        cents = to_cents(line.amount)
        if cents > 0:
            items.append(_item(f"{key}-{len(items) + 1}", line.text, cents, line.quantity, line))
        elif cents < 0:
            discounts.append(_discount(f"{key}-d{len(discounts) + 1}", line.text, -cents))
    total = to_cents(amount)
    rest = total - (sum(i["total_amount"] for i in items) - sum(d["amount"] for d in discounts))
    name = WHOLE_SALE if not items and not discounts else REST_OF_SALE
    if rest > 0:
        items.append(_item(f"{key}-{len(items) + 1}", name, rest, 1, None))
    elif rest < 0:
        discounts.append(_discount(f"{key}-d{len(discounts) + 1}", name, -rest))
    body: dict[str, Any] = {
        "external_identifier": key,
        "status": "COMPLETED",  # a sale the POS reports is paid and handed over
        "payment_status": "PAID",
        "total_order_amount": total,
        "contact": {"uuid": contact},
        "business_profile": {"uuid": shop},
        "line_items": items,
    }
    if discounts:
        body["applied_discounts"] = discounts
    return body


def _item(key: str, name: str, cents: int, quantity: int, line: SaleLine | None) -> dict[str, Any]:
    price = int((Decimal(cents) / quantity).to_integral_value(rounding=ROUND_CEILING))
    item: dict[str, Any] = {
        "external_identifier": key,
        "name": name[:200] or WHOLE_SALE,
        "quantity": quantity,
        "price": price,
        "total_amount": cents,
    }
    if price * quantity > cents:
        item["discount_amount"] = price * quantity - cents
    if line is not None and line.product:
        # by the POS's own identifier: the product library's key (the docs: created from
        # the line's name when the account does not know it yet)
        item["product"] = {"external_identifier": line.product}
    return item


def _discount(key: str, name: str, cents: int) -> dict[str, Any]:
    return {
        "external_identifier": key,
        "name": name[:200] or REST_OF_SALE,
        "amount": cents,
        "type": "ABSOLUTE",
        "value": cents,
        "applied_to": "ORDER",
    }


def return_body(order: Order, key: str, cents: int | None) -> dict[str, Any]:
    """``POST /order-returns/create-and-process`` giving back ``cents`` of ``order``
    (None: all of it).

    A refund names money, a return lines. Decided: the money is returned line by line in
    the order's own order, each line whole while the money lasts, the last one in part
    (its ``total_amount`` the money left, its quantity the share of units rounded up, at
    least one), so the points taken back follow the money as a v3 refund's do.
    """
    items: list[dict[str, Any]] = []
    left = cents
    for line in _returnable(order.line_items):
        if left is not None and left <= 0:
            break
        take = line.total_amount if left is None else min(line.total_amount, left)
        quantity = _units(line.quantity, take, line.total_amount)
        items.append(
            {
                "external_identifier": line.external_identifier,
                "quantity": quantity,
                "total_amount": take,
            }
        )
        if left is not None:
            left -= take
    return {
        "order": {"external_identifier": order.external_identifier},
        "external_identifier": key,
        "status": "COMPLETED",
        "line_items": items,
    }


def _returnable(lines: list[LineItem]) -> list[LineItem]:
    return [line for line in lines if line.total_amount > 0]


def _units(quantity: Decimal, take: int, total: int) -> int:
    whole = int(quantity.to_integral_value(rounding=ROUND_CEILING))
    if take >= total:
        return max(1, whole)
    share = (quantity * take / total).to_integral_value(rounding=ROUND_CEILING)
    return max(1, min(whole, int(share)))
