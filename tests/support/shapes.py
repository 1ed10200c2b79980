"""Shape comparison of JSON answers: the sandbox's answer against the vendor's documented
example (tests/fixtures/leat-docs/). Only names, nesting and types count, never values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "leat-docs"
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def load_example(name: str) -> Any:
    """A documented example body as JSON. The docs' examples are stored verbatim; a few
    carry a trailing comma, a string whose closing quote is missing at the end of its line,
    a stray closing brace after the body, an array left open before the next key, or a
    missing comma at the end of a line, which are read past."""
    lines = (DOCS / name).read_text().splitlines()
    closed = [line + '"' if line.count('"') % 2 else line for line in lines]
    text = _MISSING_COMMA.sub(r"\1,\2", _close_open_arrays("\n".join(closed)))
    text = _TRAILING_COMMA.sub(r"\1", text)
    value, _ = json.JSONDecoder(strict=False).raw_decode(text.strip())
    return value


#: a value or a closing bracket ending a line, the next line opening a key or an entry
_MISSING_COMMA = re.compile(r'([\]}"\d]|true|false|null)(\s*\n\s*["{\[])')


def _close_open_arrays(text: str) -> str:
    """Closes an array that is still open where a key (``"name":``) begins: a key only ever
    stands in an object."""
    out: list[str] = []
    stack: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            end = text.index('"', index + 1)
            while text[end - 1] == "\\":
                end = text.index('"', end + 1)
            if stack and stack[-1] == "[" and text[end + 1 :].lstrip().startswith(":"):
                stack.pop()
                out.append("],")
            out.append(text[index : end + 1])
            index = end + 1
            continue
        if char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
        out.append(char)
        index += 1
    return "".join(out)


def kind(value: Any) -> str:
    """The JSON type: ``[]`` and ``{}`` differ, integers and fractions are both numbers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def differences(
    documented: Any,
    actual: Any,
    path: str = "",
    *,
    ignore: Iterable[str] = (),
    nullable: Iterable[str] = (),
    maps: Iterable[str] = (),
) -> list[str]:
    """Where ``actual`` is not shaped like ``documented``: missing or extra names, other
    types. ``ignore`` names keys left out on both sides (an account's own custom attribute
    names), ``nullable`` the paths (``$.data.contact_identifier``) where either may be null,
    ``maps`` the paths of objects whose names are the account's own (a contact's
    ``current_values``): only their being an object counts.
    A documented null says nothing of the type; an array's entries are each compared with
    the shape of the documented first entry."""
    return _Comparer(set(ignore), set(nullable), set(maps)).diff(documented, actual, path or "$")


class _Comparer:
    def __init__(self, ignored: set[str], nulls: set[str], free: set[str]) -> None:
        self.ignored, self.nulls, self.free = ignored, nulls, free

    def diff(self, doc: Any, got: Any, path: str) -> list[str]:
        if doc is None or (got is None and path in self.nulls):
            return []
        if kind(doc) != kind(got):
            return [f"{path}: {kind(got)} where the docs show {kind(doc)}"]
        if isinstance(doc, dict) and path not in self.free:
            return self._object(doc, got, path, optional=set())
        if isinstance(doc, list) and doc:
            return self._array(doc, got, path)
        return []

    def _object(self, doc: dict[str, Any], got: Any, path: str, optional: set[str]) -> list[str]:
        found: list[str] = []
        for name in sorted((set(doc) | set(got)) - self.ignored):
            here = f"{path}.{name}"
            if name not in got:
                if name not in optional:
                    found.append(f"{here}: missing")
            elif name not in doc:
                found.append(f"{here}: not in the docs")
            else:
                found += self.diff(doc[name], got[name], here)
        return found

    def _array(self, doc: list[Any], got: list[Any], path: str) -> list[str]:
        """Entries of objects: a name on some documented entries only is optional; a
        name's documented value is the first one that is not null."""
        if not got:
            return [f"{path}: empty, the docs show entries (make the request return some)"]
        if all(isinstance(entry, dict) for entry in doc):
            merged: dict[str, Any] = {}
            for entry in doc:
                for name, value in entry.items():
                    if merged.get(name) is None:
                        merged[name] = value
            optional = {name for name in merged if any(name not in entry for entry in doc)}
            # a name null on some documented entry may be null
            self.nulls |= {f"{path}[].{n}" for n in merged if any(e.get(n, 0) is None for e in doc)}
            found: list[str] = []
            for entry in got:
                if kind(entry) != "object":
                    found.append(f"{path}[]: {kind(entry)} where the docs show object")
                else:
                    found += self._object(merged, entry, f"{path}[]", optional)
            return sorted(set(found))
        return sorted({d for entry in got for d in self.diff(doc[0], entry, f"{path}[]")})
