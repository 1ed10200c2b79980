"""Leat's product library in the sandbox: products and their categories, created one by one
or in batches, updated, listed page by page, found by the POS's external identifier, and
deleted. Under the account's personal access token (``sandbox/keys.py``), shaped as the
docs' Products and Categories pages show them; what ``register-agent products sync``
talks to. Every change is a ledger row (``product_created``, ``category_updated``, ...).

Where the pages are silent, the sandbox decides, and the agent is built on the same:

- An ``external_identifier`` ("a unique identifier from your system") already taken is
  refused on create and on update, 1003 with the field named, as an order's is.
- A batch is booked whole or not at all: one bad entry, an identifier taken or given twice
  in the batch refuses it with the entry named (``products.3.name``), nothing created.
  At most :data:`MAX_BATCH` entries (the pages give no maximum; a client that sends a
  whole catalogue in one request is caught here rather than by a real account).
- A product's ``categories`` must exist (by ``uuid`` or ``external_identifier``), else
  1003 naming the entry: the sync creates the categories first. An update that names
  ``categories`` replaces them.
- A product or category not found is a 404 "... not found." (as an order's find).
- The list pages by ``page`` and ``limit`` (default 10, as the example's meta), in the
  order of creation.
"""

from __future__ import annotations

from typing import Any

from register_agent.sandbox.order_input import obj, text
from register_agent.sandbox.params import ApiError, invalid
from register_agent.sandbox.routes import Call, Reply, RouteTable

ROUTES = RouteTable("client", "/api/v3/oauth/clients")
API = "client"
MAX_BATCH = 100

#: the two kinds: route segment, store attribute, batch key, ledger name, what it shows
KINDS = {
    "products": ("products", "products", "product", "Product"),
    "product-categories": ("categories", "categories", "category", "Category"),
}


def _book(call: Call, segment: str) -> dict[str, dict[str, Any]]:
    book: dict[str, dict[str, Any]] = getattr(call.store, KINDS[segment][0])
    return book


def _optional_text(body: dict[str, Any], field: str, where: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise invalid(f"{where}{field}", f"The {where}{field} must be a string.")
    return value


def _categories(call: Call, raw: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise invalid(f"{where}categories", f"The {where}categories must be an array.")
    found = []
    for index, entry in enumerate(raw):
        at = f"{where}categories.{index}"
        named = obj(entry, at)
        book = call.store.categories
        if isinstance(named.get("external_identifier"), str):
            category = book.get(named["external_identifier"])
        elif isinstance(named.get("uuid"), str):
            category = next((c for c in book.values() if c["uuid"] == named["uuid"]), None)
        else:
            raise invalid(at, f"The {at} needs a uuid or an external_identifier.")
        if category is None:
            raise invalid(at, "Category not found.")
        found.append(category)
    return found


def _fields(
    call: Call, segment: str, body: dict[str, Any], where: str, new: bool
) -> dict[str, Any]:
    """The entity's fields as sent; ``new``: external identifier and name required."""
    fields: dict[str, Any] = {}
    for name in ("external_identifier", "name"):
        if new or body.get(name) is not None:
            fields[name] = text(body, name, where=where)
    if segment == "products":
        if "description" in body or new:
            fields["description"] = _optional_text(body, "description", where)
        if "categories" in body:
            fields["categories"] = _categories(call, body["categories"], where)
        elif new:
            fields["categories"] = []
    return fields


def _shown(segment: str, entity: dict[str, Any], *, batch: bool = False) -> dict[str, Any]:
    """As the pages show one; a batch's answer shows products without their categories."""
    shown = {k: v for k, v in entity.items() if not (batch and k == "categories")}
    if "categories" in shown:
        shown["categories"] = [dict(c) for c in shown["categories"]]
    return shown


def _create(call: Call, segment: str, fields: dict[str, Any]) -> dict[str, Any]:
    entity = {"uuid": call.store.new_uuid(), **fields}
    _book(call, segment)[fields["external_identifier"]] = entity
    ledger = KINDS[segment][2]
    call.store.ledger.record(
        f"{ledger}_created", None, API, external_identifier=fields["external_identifier"]
    )
    return entity


def _by_uuid(call: Call, segment: str, uuid: str) -> dict[str, Any]:
    found = next((e for e in _book(call, segment).values() if e["uuid"] == uuid), None)
    if found is None:
        raise ApiError(404, f"{KINDS[segment][3]} not found.", status=404)
    return found


for _segment in KINDS:

    @ROUTES.add("GET", f"/{_segment}")
    def list_entities(call: Call, segment: str = _segment) -> Reply:
        entities = list(_book(call, segment).values())
        page = max(1, int(call.params.get("page") or 1))
        limit = max(1, min(100, int(call.params.get("limit") or 10)))
        shown = entities[(page - 1) * limit : page * limit]
        start = (page - 1) * limit + 1
        meta = {
            "page": page,
            "limit": limit,
            "viewing_from": start if shown else 0,
            "viewing_to": start + len(shown) - 1 if shown else 0,
            "last_page": max(1, -(-len(entities) // limit)),
            "total": len(entities),
        }
        return Reply([_shown(segment, e) for e in shown], meta=meta)

    @ROUTES.add("POST", f"/{_segment}")
    def create_entity(call: Call, segment: str = _segment) -> Reply:
        fields = _fields(call, segment, call.params, "", new=True)
        if fields["external_identifier"] in _book(call, segment):
            raise invalid("external_identifier", "The external identifier has already been taken.")
        return Reply(_shown(segment, _create(call, segment, fields)))

    @ROUTES.add("POST", f"/{_segment}/batch")
    def batch_create(call: Call, segment: str = _segment) -> Reply:
        key = KINDS[segment][1]
        entries = call.params.get(key)
        if not isinstance(entries, list) or not entries:
            raise invalid(key, f"The {key} field is required.")
        if len(entries) > MAX_BATCH:
            raise invalid(key, f"The {key} may not have more than {MAX_BATCH} items.")
        book, seen, batch = _book(call, segment), set(), []
        for index, raw in enumerate(entries):
            at = f"{key}.{index}."
            fields = _fields(call, segment, obj(raw, f"{key}.{index}"), at, new=True)
            external = fields["external_identifier"]
            if external in book or external in seen:
                raise invalid(
                    f"{at}external_identifier", "The external identifier has already been taken."
                )
            seen.add(external)
            batch.append(fields)
        call.pause()  # the latency fault's commit point: the whole batch at once
        return Reply([_shown(segment, _create(call, segment, f), batch=True) for f in batch])

    @ROUTES.add("GET", f"/{_segment}/find")
    def find_entity(call: Call, segment: str = _segment) -> Reply:
        external = text(call.params, "external_identifier")
        found = _book(call, segment).get(external)
        if found is None:
            raise ApiError(404, f"{KINDS[segment][3]} not found.", status=404)
        return Reply(_shown(segment, found))

    @ROUTES.add("POST", f"/{_segment}/find-or-create")
    def find_or_create(call: Call, segment: str = _segment) -> Reply:
        external = text(call.params, "external_identifier")
        found = _book(call, segment).get(external)
        if found is None:
            fields = _fields(call, segment, call.params, "", new=False)
            fields.setdefault("name", external)  # optional here; decision: named after its key
            fields.setdefault("description", None) if segment == "products" else None
            fields.setdefault("categories", []) if segment == "products" else None
            found = _create(call, segment, fields)
        return Reply(_shown(segment, found))

    @ROUTES.add("GET", f"/{_segment}/([^/]+)")
    def get_entity(call: Call, segment: str = _segment) -> Reply:
        return Reply(_shown(segment, _by_uuid(call, segment, call.args[0])))

    @ROUTES.add("PUT", f"/{_segment}/([^/]+)")
    def update_entity(call: Call, segment: str = _segment) -> Reply:
        entity = _by_uuid(call, segment, call.args[0])
        fields = _fields(call, segment, call.params, "", new=False)
        book = _book(call, segment)
        renamed = fields.get("external_identifier", entity["external_identifier"])
        if renamed != entity["external_identifier"] and renamed in book:
            raise invalid("external_identifier", "The external identifier has already been taken.")
        changed = sorted(name for name, value in fields.items() if entity.get(name) != value)
        del book[entity["external_identifier"]]
        entity.update(fields)
        book[entity["external_identifier"]] = entity
        call.store.ledger.record(
            f"{KINDS[segment][2]}_updated",
            None,
            API,
            external_identifier=entity["external_identifier"],
            changed=changed,
        )
        return Reply(_shown(segment, entity))

    @ROUTES.add("DELETE", f"/{_segment}/([^/]+)")
    def delete_entity(call: Call, segment: str = _segment) -> Reply:
        entity = _by_uuid(call, segment, call.args[0])
        del _book(call, segment)[entity["external_identifier"]]
        call.store.ledger.record(
            f"{KINDS[segment][2]}_deleted",
            None,
            API,
            external_identifier=entity["external_identifier"],
        )
        return Reply(None)
