"""The input of the sandbox's client-API orders (``orders.py``), checked as the docs' Orders
page lists it: each field's presence and type, named in a 1003 when it is wrong, and
returned in the shape the order's answer shows it."""

from __future__ import annotations

from typing import Any

from register_agent.sandbox.params import invalid

STATUSES = ("CREATED", "PENDING", "COMPLETED", "CANCELLED")
PAYMENT_STATUSES = ("UNPAID", "PENDING", "PAID")


def obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(field, f"The {field} must be an object.")
    return value


def text(body: dict[str, Any], field: str, *, where: str = "") -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{where}{field}", f"The {where}{field} field is required.")
    return value


def cents(body: dict[str, Any], field: str, *, where: str = "", required: bool = True) -> int:
    value = body.get(field)
    if value is None and not required:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(f"{where}{field}", f"The {where}{field} must be a whole number.")
    try:
        return int(str(value))
    except ValueError:
        raise invalid(f"{where}{field}", f"The {where}{field} must be a whole number.") from None


def lines_of(items: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise invalid(where, f"The {where} must be an array.")
    lines = []
    for index, raw in enumerate(items):
        at = f"{where}.{index}."
        item = obj(raw, f"{where}.{index}")
        product = item.get("product")
        line: dict[str, Any] = {
            "uuid": None,  # given when the order is booked
            "external_identifier": text(item, "external_identifier", where=at),
            "name": text(item, "name", where=at),
            "quantity": cents(item, "quantity", where=at),
            "price": cents(item, "price", where=at),
            "total_amount": cents(item, "total_amount", where=at),
            "discount_amount": cents(item, "discount_amount", where=at, required=False),
            "product": None
            if product is None
            else {
                "external_identifier": text(
                    obj(product, f"{at}product"), "external_identifier", where=f"{at}product."
                ),
                "name": item["name"],
            },
        }
        if "sub_line_items" in item:
            line["sub_line_items"] = lines_of(item["sub_line_items"], f"{at}sub_line_items")
        lines.append(line)
    return lines


def discounts_of(items: Any) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise invalid("applied_discounts", "The applied discounts must be an array.")
    discounts = []
    for index, raw in enumerate(items):
        at = f"applied_discounts.{index}."
        item = obj(raw, f"applied_discounts.{index}")
        applied_to = text(item, "applied_to", where=at)
        if applied_to not in ("ORDER", "ORDER_LINES"):
            raise invalid(f"{at}applied_to", "The applied to must be ORDER or ORDER_LINES.")
        discounts.append(
            {
                "external_identifier": text(item, "external_identifier", where=at),
                "name": text(item, "name", where=at),
                "amount": cents(item, "amount", where=at),
                "type": item.get("type"),
                "value": item.get("value"),
                "applied_to": applied_to,
                "line_items": item.get("line_items") or [],
            }
        )
    return discounts


def charges_of(items: Any) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise invalid("charges", "The charges must be an array.")
    charges = []
    for index, raw in enumerate(items):
        at = f"charges.{index}."
        item = obj(raw, f"charges.{index}")
        charges.append(
            {
                "external_identifier": text(item, "external_identifier", where=at),
                "type": item.get("type"),
                "name": text(item, "name", where=at),
                "amount": cents(item, "amount", where=at),
                "discount_amount": cents(item, "discount_amount", where=at, required=False),
                "total_amount": cents(item, "total_amount", where=at, required=False),
            }
        )
    return charges
