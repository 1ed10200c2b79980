"""Leat's client API for orders in the sandbox: create and process an order (points by its
line items, product exclusions applied per line), find it by its external identifier,
create and process an order return. Under the account's personal access token
(``sandbox/keys.py``); answers shaped as the docs' Orders and Order Returns pages show
them (docs/register-api.md, "The client API at the counter").

Where those pages are silent, the sandbox decides, and the agent is built on the same:

- An order whose ``external_identifier`` is already taken ("imperative this is unique
  across all Orders") is refused, 1003 with the field named, and nothing is booked: a
  resent order is never processed twice, and the client finds the first by that key.
- Points come from the (sub) line items' ``total_amount`` (after their discounts), less
  the lines of excluded products and the order-level discounts, at the shop's rate;
  charges earn none. Discounts and charges are answered as they were sent.
- A return's ``external_identifier`` is unique the same way; the points it takes back are
  the returned lines' share of the order's points, rounded down, never more than are left.
- Validation failures answer the Register API's own 1003 with the fields named.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from register_agent.sandbox.keys import account_wide
from register_agent.sandbox.order_input import (
    PAYMENT_STATUSES,
    STATUSES,
    cents,
    charges_of,
    discounts_of,
    lines_of,
    obj,
    text,
)
from register_agent.sandbox.params import ApiError, invalid
from register_agent.sandbox.routes import Call, Reply, RouteTable
from register_agent.sandbox.state import credits_for, now

ROUTES = RouteTable("client", "/api/v3/oauth/clients")
API = "client"


def _eligiblecents(lines: list[dict[str, Any]], excluded: tuple[str, ...]) -> int:
    total = 0
    for line in lines:
        product = line["product"]
        if product is None or product["external_identifier"] not in excluded:
            total += line["total_amount"]
        total += _eligiblecents(line.get("sub_line_items", []), excluded)
    return total


def _numberlines_of(call: Call, lines: list[dict[str, Any]]) -> None:
    for line in lines:
        line["uuid"] = call.store.new_uuid()
        _numberlines_of(call, line.get("sub_line_items", []))


@ROUTES.add("POST", "/orders/create-and-process")
def create_and_process_order(call: Call) -> Reply:
    body = call.params
    external = text(body, "external_identifier")
    status = text(body, "status")
    paid = text(body, "payment_status")
    if status not in STATUSES:
        raise invalid("status", f"The status must be one of {', '.join(STATUSES)}.")
    if paid not in PAYMENT_STATUSES:
        raise invalid("payment_status", f"The payment status must be one of {PAYMENT_STATUSES}.")
    total = cents(body, "total_order_amount")
    contact_uuid = text(obj(body.get("contact"), "contact"), "uuid", where="contact.")
    profile = obj(body.get("business_profile"), "business_profile")
    profile_uuid = text(profile, "uuid", where="business_profile.")
    lines = lines_of(body.get("line_items"), "line_items")
    discounts, charges = (
        discounts_of(body.get("applied_discounts")),
        charges_of(body.get("charges")),
    )
    orders: dict[str, dict[str, Any]] = call.store.orders
    if external in orders:
        raise invalid("external_identifier", "The external identifier has already been taken.")
    account = call.store.account(uuid=contact_uuid)
    if account is None:
        raise ApiError(55031, "Contact not found.")
    shop = next((s for s in call.store.seed.shops if s.uuid == profile_uuid), None)
    if shop is None:
        raise ApiError(1008, "Shop not found.")  # the documented 1008: a business profile is a shop
    _numberlines_of(call, lines)
    eligible = _eligible_of(call, lines, discounts)
    for discount in discounts:
        discount["uuid"] = call.store.new_uuid()
    points = credits_for(shop, Decimal(eligible) / 100) if status != "CANCELLED" else 0
    register = account_wide(call.store.seed, shop.id)
    call.pause()  # the latency fault's commit point: booked after the wait, like a slow server
    txn = call.store.credit(register, API, points, account=account, amount=Decimal(eligible) / 100)
    stamp = now()
    order = {
        "uuid": call.store.new_uuid(),
        "contact": {"uuid": account.member.uuid, "email": account.member.email},
        "business_profile": {"uuid": shop.uuid, "name": shop.name},
        "external_identifier": external,
        "reference": body.get("reference"),
        "status": status,
        "payment_status": paid,
        "currency": body.get("currency") or "EUR",
        "formatted_total_order_amount": f"€ {Decimal(total) / 100:.2f}",
        "order_amount": cents(body, "order_amount", required=False) or total,
        "total_charges_amount": sum(charge["amount"] for charge in charges),
        "total_discount_amount": cents(body, "total_discount_amount", required=False),
        "total_order_amount": total,
        "paid_at": body.get("paid_at"),
        "completed_at": body.get("completed_at"),
        "line_items": lines,
        "applied_discounts": discounts,
        "charges": charges,
        "created_at": stamp,
        "updated_at": stamp,
    }
    orders[external] = {"order": order, "points": points, "returned": 0, "txn": txn}
    call.store.ledger.transaction(
        "points_transaction", txn, order=order["uuid"], external_identifier=external
    )
    result = {
        "type": "POINTS_TRANSACTION",
        "data": {"points": points, "new_balance": account.balance},
    }
    return Reply({"order": order, "result": result})


def _eligible_of(call: Call, lines: list[dict[str, Any]], discounts: list[dict[str, Any]]) -> int:
    eligible = _eligiblecents(lines, call.store.seed.loyalty_excluded_products)
    off: int = sum(d["amount"] for d in discounts if d["applied_to"] == "ORDER")
    return max(0, eligible - off)


@ROUTES.add("POST", "/orders/simulate")
def simulate_order(call: Call) -> Reply:
    """The points an order would earn, booking nothing (the docs' simulate call): the
    same rules as create-and-process, answered as the docs' example result."""
    body = call.params
    contact_uuid = text(obj(body.get("contact"), "contact"), "uuid", where="contact.")
    profile = obj(body.get("business_profile"), "business_profile")
    profile_uuid = text(profile, "uuid", where="business_profile.")
    lines = lines_of(body.get("line_items"), "line_items")
    discounts = discounts_of(body.get("applied_discounts"))
    if call.store.account(uuid=contact_uuid) is None:
        raise ApiError(55031, "Contact not found.")
    shop = next((s for s in call.store.seed.shops if s.uuid == profile_uuid), None)
    if shop is None:
        raise ApiError(1008, "Shop not found.")
    points = credits_for(shop, Decimal(_eligible_of(call, lines, discounts)) / 100)
    return Reply({"type": "points_transaction", "data": {"points": points}})


@ROUTES.add("GET", "/orders/find")
def find_order(call: Call) -> Reply:
    external = text(call.params, "external_identifier")
    found = call.store.orders.get(external)
    if found is None:
        raise ApiError(404, "Order not found.", status=404)
    return Reply(found["order"])


@ROUTES.add("POST", "/order-returns/create-and-process")
def create_and_process_return(call: Call) -> Reply:
    body = call.params
    named = obj(body.get("order"), "order")
    external = text(body, "external_identifier")
    text(body, "status")
    booked = _order(call, named)
    returns: dict[str, dict[str, Any]] = call.store.order_returns
    if external in returns:
        raise invalid("external_identifier", "The external identifier has already been taken.")
    order = booked["order"]
    by_id = {line["external_identifier"]: line for line in order["line_items"]}
    items = []
    share = Decimal(0)
    for index, raw in enumerate(body.get("line_items") or []):
        item = obj(raw, f"line_items.{index}")
        line = by_id.get(text(item, "external_identifier", where=f"line_items.{index}."))
        if line is None:
            raise invalid(f"line_items.{index}.external_identifier", "Line item not found.")
        quantity = cents(item, "quantity", where=f"line_items.{index}.")
        share += _returned(item, quantity, line, f"line_items.{index}.")
        items.append(
            {
                "uuid": call.store.new_uuid(),
                "quantity": quantity,
                "line_item": {"uuid": line["uuid"]},
            }
        )
    subs = {
        sub["external_identifier"]: sub
        for line in order["line_items"]
        for sub in line.get("sub_line_items", [])
    }
    sub_items = []
    for index, raw in enumerate(body.get("sub_line_items") or []):
        item = obj(raw, f"sub_line_items.{index}")
        at = f"sub_line_items.{index}."
        sub = subs.get(text(item, "external_identifier", where=at))
        if sub is None:
            raise invalid(f"{at}external_identifier", "Sub line item not found.")
        quantity = cents(item, "quantity", where=at)
        share += _returned(item, quantity, sub, at)
        sub_items.append(
            {
                "uuid": call.store.new_uuid(),
                "quantity": quantity,
                "sub_line_item": {"uuid": sub["uuid"]},
            }
        )
    whole = Decimal(max(order["total_order_amount"], 1))
    back = int((booked["points"] * share / whole).to_integral_value(rounding=ROUND_FLOOR))
    back = min(back, booked["points"] - booked["returned"])
    call.pause()
    txn = booked["txn"]
    taken = call.store.credit(txn.register, API, -back, account=txn.account)
    booked["returned"] += back
    answer = {
        "uuid": call.store.new_uuid(),
        "status": "COMPLETED",
        "order": {"uuid": order["uuid"]},
        "line_item_returns": items,
        "sub_line_item_returns": sub_items,
    }
    returns[external] = answer
    call.store.ledger.transaction(
        "points_transaction", taken, order=order["uuid"], order_return=answer["uuid"]
    )
    balance = txn.account.balance if txn.account else None
    result = {"type": "POINTS_TRANSACTION", "data": {"points": -back, "new_balance": balance}}
    return Reply({"return": answer, "result": result})


def _returned(item: dict[str, Any], quantity: int, line: dict[str, Any], at: str) -> Decimal:
    """The money a returned (sub) line item gives back: its ``total_amount`` when given
    (the docs: "after discounts"), never more than the line's; else the quantity's share
    of the line's total (the docs: "remaining quantity and price will be used")."""
    if item.get("total_amount") is not None:
        return Decimal(min(cents(item, "total_amount", where=at), line["total_amount"]))
    return Decimal(quantity) / Decimal(line["quantity"]) * Decimal(line["total_amount"])


def _order(call: Call, named: dict[str, Any]) -> dict[str, Any]:
    """The order a return names, by ``uuid`` or ``external_identifier``."""
    orders: dict[str, dict[str, Any]] = call.store.orders
    if isinstance(named.get("external_identifier"), str):
        found = orders.get(named["external_identifier"])
    elif isinstance(named.get("uuid"), str):
        found = next((o for o in orders.values() if o["order"]["uuid"] == named["uuid"]), None)
    else:
        raise invalid(
            "order.uuid", "The order.uuid field is required if external_identifier is missing."
        )
    if found is None:
        raise ApiError(404, "Order not found.", status=404)
    return found
