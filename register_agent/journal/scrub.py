"""Card values leave the journal once they are no longer needed.

A scanned card value must be kept while its operation waits (a card scanned offline is
resolved from it later), but not a moment longer: when the operation is done or refused,
the value in its payload, its result, its ordering key and its sale's request is cut to
its last four characters, the most any log or receipt shows. The writer runs with
``secure_delete`` on, so SQLite overwrites the old bytes instead of leaving them in free
space: after a shift, no full card value is left in the journal file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from register_agent.common.masking import mask
from register_agent.journal.kinds import VOUCHER
from register_agent.journal.records import dumps

_CARD_KEY = "card:"


def _masked_customer(customer: Any) -> Any:
    if isinstance(customer, dict) and isinstance(customer.get("card"), str):
        return {**customer, "card": mask(customer["card"])}
    return customer


def _masked_key(key: str | None) -> str | None:
    if key and key.startswith(_CARD_KEY) and not key.startswith(_CARD_KEY + "…"):
        return _CARD_KEY + mask(key[len(_CARD_KEY) :])
    return key


def scrub_cards(db: sqlite3.Connection, row: Mapping[str, Any]) -> dict[str, Any]:
    """Cut the card values of a finished operation (and of its sale) to their last four;
    returns ``row`` (an operation's, as read) as it now stands.

    It works on the stored JSON, whatever the kind: a ``card`` and a ``customer``'s card
    in the payload, a ``customer``'s card in the result, a voucher's ``code``. It starts
    from the row as read (the move's caller gets its model parsed once, from what this
    returns), and writes nothing where nothing is cut.
    """
    payload = json.loads(row["payload"])
    if isinstance(payload.get("card"), str):
        payload["card"] = mask(payload["card"])
    if row["kind"] == VOUCHER and isinstance(payload.get("code"), str):
        payload["code"] = mask(payload["code"])  # a voucher's code redeems it, like a card
    if "customer" in payload:
        payload["customer"] = _masked_customer(payload["customer"])
    result = None if row["result"] is None else json.loads(row["result"])
    if isinstance(result, dict) and "customer" in result:
        result = {**result, "customer": _masked_customer(result["customer"])}
    scrubbed = {
        "payload": dumps(payload),
        "result": None if result is None else dumps(result),
        "customer_key": _masked_key(row["customer_key"]),
    }
    stands = {**dict(row), **scrubbed}
    if any(row[column] != value for column, value in scrubbed.items()):
        db.execute(
            "UPDATE operations SET payload = :payload, result = :result,"
            " customer_key = :customer_key WHERE id = :id",
            {**scrubbed, "id": row["id"]},
        )
    if row["sale_id"] is not None:
        _scrub_sale(db, row["sale_id"])
    return stands


def _scrub_sale(db: sqlite3.Connection, sale_id: str) -> None:
    row = db.execute(
        "SELECT request, customer_key FROM sales WHERE sale_id = ?", (sale_id,)
    ).fetchone()
    if row is None:
        return
    request = json.loads(row["request"])
    if isinstance(request.get("customer_card"), str):
        request["customer_card"] = mask(request["customer_card"])
    text, key = dumps(request), _masked_key(row["customer_key"])
    if text == row["request"] and key == row["customer_key"]:
        return  # cut already (by the sale's first operation done), or never a card
    db.execute(
        "UPDATE sales SET request = ?, customer_key = ? WHERE sale_id = ?",
        (text, key, sale_id),
    )
