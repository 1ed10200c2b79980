"""The product library in Leat: bringing the account's products and categories in line with
the POS's export (``register-agent products sync``). The export's rows come in already
checked (``commands/product_file.py``); here they are compared with what the account
holds, and only the difference is sent: new categories and products in batches, a changed
one by its own update. So a second run with the same file reads and sends nothing.

Decisions where the docs' Products and Categories pages are silent:

- What the account holds is read first, every page of the two lists; nothing is created
  whose external identifier is there already (the batch calls create, they do not update).
- A product or category the file does not name is left alone, never deleted: another till
  or the web shop may have made it.
- A product is compared on what the file has: its name; its description and categories
  only when the file has those columns. A changed one is updated alone (``PUT``), since no
  batch update is documented.
- Batches of :data:`BATCH` entries, one after the other; the first failure stops the sync,
  and the report says what was done before it and what was not. A batch whose answer was
  lost may have been created: running the same file again finds it in the list and does
  not send it twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from register_agent.loyalty.client_http import ClientApiHttp
from register_agent.loyalty.forms import segment
from register_agent.loyalty.http import parse_with
from register_agent.loyalty.orders.models import Category, Product
from register_agent.loyalty.outcomes import Envelope

#: entries per batch request (the docs give no maximum; the sandbox takes up to 100)
BATCH = 50
#: entries per page when the lists are read
PAGE = 100
PRODUCTS, CATEGORIES = "/products", "/product-categories"


@dataclass(frozen=True)
class LibraryRow:
    """One product as the POS's export names it (a checked row of the file)."""

    line: int
    external_identifier: str
    name: str
    description: str | None = None
    category_id: str | None = None  # the category's external identifier
    category_name: str | None = None


@dataclass(frozen=True)
class Columns:
    """Which optional columns the file has: only those are compared and sent."""

    description: bool = False
    category: bool = False


@dataclass
class Step:
    """One request of the sync: what it sends, and the file lines it stands for."""

    label: str
    method: str
    path: str
    body: dict[str, Any]
    lines: list[int] = field(default_factory=list)


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    unchanged_products: int = 0
    unchanged_categories: int = 0


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plan_sync(
    rows: list[LibraryRow],
    columns: Columns,
    products: list[Product],
    categories: list[Category],
) -> Plan:
    """The requests that bring the account in line with ``rows``; none when it is."""
    plan = Plan()
    held_categories = {c.external_identifier: c for c in categories}
    new_categories: dict[str, tuple[str, list[int]]] = {}
    seen: set[str] = set()
    for row in rows:
        if row.category_id is None:
            continue
        name = row.category_name or row.category_id
        held = held_categories.get(row.category_id)
        if held is None:
            new_categories.setdefault(row.category_id, (name, []))[1].append(row.line)
        elif row.category_id in seen:
            continue
        elif held.name == name:
            plan.unchanged_categories += 1
        else:
            path = f"{CATEGORIES}/{segment(held.uuid)}"
            label = f"update category {row.category_id} (name)"
            plan.steps.append(Step(label, "PUT", path, {"name": name}, [row.line]))
        seen.add(row.category_id)
    fresh = [
        {"external_identifier": key, "name": name, "lines": lines}
        for key, (name, lines) in new_categories.items()
    ]
    for chunk in _chunks(fresh, BATCH):
        body = {"categories": [{k: c[k] for k in ("external_identifier", "name")} for c in chunk]}
        lines = sorted(line for c in chunk for line in c["lines"])
        plan.steps.append(
            Step(f"create {len(chunk)} categories", "POST", f"{CATEGORIES}/batch", body, lines)
        )
    held_products = {p.external_identifier: p for p in products}
    created: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        wanted = _product_body(row, columns)
        product = held_products.get(row.external_identifier)
        if product is None:
            created.append((row.line, wanted))
            continue
        changes = _changes(product, wanted, columns)
        if not changes:
            plan.unchanged_products += 1
            continue
        path = f"{PRODUCTS}/{segment(product.uuid)}"
        label = f"update product {row.external_identifier} ({', '.join(sorted(changes))})"
        plan.steps.append(Step(label, "PUT", path, changes, [row.line]))
    for chunk in _chunks(created, BATCH):
        body = {"products": [entry for _, entry in chunk]}
        lines = [line for line, _ in chunk]
        plan.steps.append(
            Step(f"create {len(chunk)} products", "POST", f"{PRODUCTS}/batch", body, lines)
        )
    return plan


def _product_body(row: LibraryRow, columns: Columns) -> dict[str, Any]:
    body: dict[str, Any] = {"external_identifier": row.external_identifier, "name": row.name}
    if columns.description:
        body["description"] = row.description
    if columns.category:
        body["categories"] = (
            [] if row.category_id is None else [{"external_identifier": row.category_id}]
        )
    return body


def _changes(held: Product, wanted: dict[str, Any], columns: Columns) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if held.name != wanted["name"]:
        changes["name"] = wanted["name"]
    if columns.description and held.description != wanted["description"]:
        changes["description"] = wanted["description"]
    if columns.category:
        have = sorted(c.external_identifier for c in held.categories)
        want = sorted(c["external_identifier"] for c in wanted["categories"])
        if have != want:
            changes["categories"] = wanted["categories"]
    return changes


class ProductLibrary:
    """The account's product library through the client API."""

    def __init__(self, http: ClientApiHttp) -> None:
        self._http = http

    async def products(self) -> list[Product]:
        return await self._all(PRODUCTS, TypeAdapter(list[Product]))

    async def categories(self) -> list[Category]:
        return await self._all(CATEGORIES, TypeAdapter(list[Category]))

    async def _all(self, path: str, adapter: TypeAdapter[list[Any]]) -> list[Any]:
        """Every page of a list (its ``meta.last_page``; one page when there is none)."""
        found: list[Any] = []
        page = 1
        while True:
            envelope = await self._http.get(
                path, _envelope, params={"page": str(page), "limit": str(PAGE)}
            )
            found.extend(adapter.validate_python(envelope.data))
            last = envelope.meta.get("last_page")
            if not isinstance(last, int) or page >= last:
                return found
            page += 1

    async def send(self, step: Step) -> None:
        """One step of a plan; raises the client's errors (``register_agent.errors``)."""
        send: Callable[..., Awaitable[Any]] = (
            self._http.post if step.method == "POST" else self._http.put
        )
        await send(step.path, _ANY, json=step.body)


def _envelope(envelope: Envelope) -> Envelope:
    return envelope


_ANY = parse_with(TypeAdapter(Any))
