"""The POS's product export as ``register-agent products sync`` reads it: a CSV file (comma,
semicolon or tab separated, a header row first) or a JSON array of objects (or an object
whose ``products`` is one), each row a product. Every row is checked before anything is
sent; a bad row is reported with its line number and the whole file is refused, so the
account is never brought half-way to a file nobody meant.

Columns (names in any case; others are ignored and named):

- ``external_identifier`` (required): the POS's own code for the product, the key the
  orders' line items name it by;
- ``name`` (required);
- ``description`` (optional);
- ``category`` (optional): the product's category by name; ``category_id`` (optional): the
  POS's code for it, else the name is the category's key too;
- ``price`` (optional): checked (``12.50`` or ``12,50``) but not sent, because Leat's
  product has no price: an order's line item carries it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from register_agent.common.money import NotAnAmount, parse_pos_amount
from register_agent.errors import ConfigError
from register_agent.loyalty.orders.library import Columns, LibraryRow

KNOWN = ("external_identifier", "name", "description", "category", "category_id", "price")
REQUIRED = ("external_identifier", "name")
MAX_TEXT = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ProductFileError(ConfigError):
    """The file cannot be synced as it is; the message names each bad line and the fix."""


@dataclass(frozen=True)
class ProductFile:
    rows: list[LibraryRow]
    columns: Columns
    ignored: list[str]


def read_product_file(path: Path) -> ProductFile:
    """The checked rows of ``path``; raises ProductFileError naming every bad line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProductFileError(f"{path}: cannot be read ({exc}); export it as UTF-8") from exc
    raw = _json_rows(path, text) if text.lstrip().startswith(("[", "{")) else _csv_rows(path, text)
    names = {name for _, row in raw for name in row}
    missing = [name for name in REQUIRED if name not in names]
    if raw and missing:
        raise ProductFileError(
            f"{path}: no column {', '.join(missing)}; the columns are "
            f"{', '.join(KNOWN)} (external_identifier and name required)"
        )
    problems: list[str] = []
    rows: list[LibraryRow] = []
    for line, entry in raw:
        row = _row(line, entry, problems)
        if row is not None:
            rows.append(row)
    _check_unique(rows, problems)
    if not raw:
        problems.append("no products in the file")
    if problems:
        raise ProductFileError(
            f"{path}: {len(problems)} problem(s), nothing was sent:\n  "
            + "\n  ".join(problems)
            + "\nfix these lines (or leave them out of the export) and run the command again"
        )
    columns = Columns(
        description="description" in names, category=bool(names & {"category", "category_id"})
    )
    return ProductFile(rows, columns, sorted(names - set(KNOWN)))


def _key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, str]]]:
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [_key(name) for name in next(reader)]
    except StopIteration:
        return []
    rows = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue  # an empty line
        if len(values) > len(header):
            entry = {"": "extra"}  # too many fields: reported by _row
        else:
            entry = dict(zip(header, values, strict=False))
        rows.append((reader.line_num, entry))
    return rows


def _json_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """The entries of the array with the line each starts on."""
    start = text.index("[") if text.lstrip().startswith("[") else None
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProductFileError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from exc
    if isinstance(whole, dict):
        found = re.search(r'"products"\s*:\s*\[', text)
        if not isinstance(whole.get("products"), list) or found is None:
            raise ProductFileError(
                f'{path}: a JSON file is an array of products or {{"products": [...]}}'
            )
        start = found.end() - 1
    if not isinstance(whole, list) and start is None:
        raise ProductFileError(f"{path}: a JSON file is an array of products")
    assert start is not None
    decoder, index = json.JSONDecoder(), start + 1
    rows: list[tuple[int, dict[str, Any]]] = []
    while True:
        index = _skip(text, index)
        if text[index] == "]":
            return rows
        entry, end = decoder.raw_decode(text, index)
        line = text.count("\n", 0, index) + 1
        if isinstance(entry, dict):
            rows.append((line, {_key(k): "" if v is None else str(v) for k, v in entry.items()}))
        else:
            rows.append((line, {"": "not an object"}))
        index = _skip(text, end)
        if text[index] == ",":
            index += 1


def _skip(text: str, index: int) -> int:
    while text[index] in " \t\r\n":
        index += 1
    return index


def _row(line: int, entry: dict[str, str], problems: list[str]) -> LibraryRow | None:
    at = f"line {line}:"
    if "" in entry:
        what = "more fields than the header" if entry[""] == "extra" else "not an object"
        problems.append(f"{at} {what}; one product per row, as the header names its columns")
        return None
    values = {name: entry.get(name, "").strip() for name in KNOWN}
    bad = False
    for name in KNOWN:
        value = values[name]
        if name in REQUIRED and not value:
            problems.append(f"{at} {name} is empty; every product needs one")
            bad = True
        elif len(value) > MAX_TEXT or _CONTROL.search(value):
            problems.append(
                f"{at} {name} is longer than {MAX_TEXT} characters or holds control characters"
            )
            bad = True
    if values["price"]:
        try:
            parse_pos_amount(
                values["price"].replace(",", ".", 1)
                if "." not in values["price"]
                else values["price"]
            )
        except NotAnAmount as exc:
            problems.append(f"{at} price is no amount: {exc}")
            bad = True
    if bad:
        return None
    category_id = values["category_id"] or values["category"] or None
    return LibraryRow(
        line=line,
        external_identifier=values["external_identifier"],
        name=values["name"],
        description=values["description"] or None,
        category_id=category_id,
        category_name=values["category"] or None,
    )


def _check_unique(rows: list[LibraryRow], problems: list[str]) -> None:
    products: dict[str, int] = {}
    categories: dict[str, tuple[str | None, int]] = {}
    for row in rows:
        first = products.setdefault(row.external_identifier, row.line)
        if first != row.line:
            problems.append(
                f"line {row.line}: external_identifier {row.external_identifier} is on line "
                f"{first} too; each product once"
            )
        if row.category_id is None:
            continue
        name, where = categories.setdefault(row.category_id, (row.category_name, row.line))
        if name != row.category_name:
            problems.append(
                f"line {row.line}: category {row.category_id} is named {row.category_name!r} "
                f"here and {name!r} on line {where}; give it one name"
            )
