"""Request input for the sandbox: form / JSON bodies into one mapping, and strict field checks.

Piggy runs on Laravel, so the sandbox reads input the way Laravel does: query string and
body merged, PHP bracket keys (``attributes[x]=y``) nested, empty strings and JSON nulls
treated as absent. Every call names the fields it accepts; anything else is a 1003.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl

Params = dict[str, Any]

_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
_BRACKETS = re.compile(r"\[([^\]]*)\]")


class ApiError(Exception):
    """An API-level refusal: HTTP ``status`` with Piggy's error body."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        errors: Mapping[str, list[str]] | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = dict(errors) if errors else None
        self.status = status

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status_code": self.status,
            "code": self.code,
            "message": self.message,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def invalid(field: str, message: str) -> ApiError:
    """A 1003 for one field."""
    return ApiError(1003, "Invalid input.", errors={field: [message]})


def parse_form(text: str) -> Params:
    """``a=1&attributes[x]=y&ids[]=3`` -> ``{"a": "1", "attributes": {"x": "y"}, "ids": ["3"]}``."""
    params: Params = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        _put(params, key, value)
    return params


def _put(params: Params, key: str, value: str) -> None:
    head, _, rest = key.partition("[")
    if not rest:
        params[key] = value  # a repeated plain key: the last one wins, as in PHP
        return
    parts = [head, *_BRACKETS.findall("[" + rest)]
    node: Any = params
    for part, following in pairwise(parts):
        default: Any = [] if following == "" else {}
        node = node.setdefault(part, default) if isinstance(node, dict) else node
    last = parts[-1]
    if isinstance(node, list):
        node.append(value)
    elif isinstance(node, dict):
        node[last] = value


def parse_json(raw: bytes) -> Params:
    """A JSON object body; numbers with a fraction become ``Decimal``, never float."""
    try:
        value = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(1003, "Invalid input: the body is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise ApiError(1003, "Invalid input: the JSON body must be an object.")
    return value


def present(params: Params) -> Params:
    """Laravel's view: empty strings and nulls are absent."""
    return {k: v for k, v in params.items() if v is not None and v != ""}


class Fields:
    """Checks one call's input; collects every field error, then :meth:`done` raises a 1003."""

    def __init__(self, params: Params, accepted: Iterable[str]) -> None:
        self.params = present(params)
        self.errors: dict[str, list[str]] = {}
        allowed = set(accepted)
        for name in self.params:
            if name not in allowed:
                self.fail(name, f"The {name} field is not accepted by this call.")

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def has(self, name: str) -> bool:
        return name in self.params

    def require(self, name: str, *, unless: str | None = None) -> None:
        if name in self.params or (unless is not None and unless in self.params):
            return
        label = name.replace("_", " ")
        if unless is None:
            self.fail(name, f"The {label} field is required.")
        else:
            other = unless.replace("_", " ")
            self.fail(name, f"The {label} field is required when {other} is not present.")

    def text(self, name: str, *, required: bool = False) -> str | None:
        if required:
            self.require(name)
        value = self.params.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(name, f"The {name.replace('_', ' ')} must be a string.")
            return None
        return value

    def integer(
        self, name: str, *, required: bool = False, minimum: int | None = None
    ) -> int | None:
        if required:
            self.require(name)
        value = self.params.get(name)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _INTEGER.fullmatch(value):
            number = int(value)
        else:
            self.fail(name, f"The {name.replace('_', ' ')} must be an integer.")
            return None
        if minimum is not None and number < minimum:
            self.fail(name, f"The {name.replace('_', ' ')} must be at least {minimum}.")
            return None
        return number

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        if required:
            self.require(name)
        value = self.params.get(name)
        if value is None:
            return None
        if isinstance(value, Decimal | int) and not isinstance(value, bool):
            return Decimal(value)
        if isinstance(value, str) and _DECIMAL.fullmatch(value):
            try:
                return Decimal(value)
            except InvalidOperation:  # pragma: no cover - the pattern already excludes it
                pass
        self.fail(name, f"The {name.replace('_', ' ')} must be a number.")
        return None

    def not_both(self, first: str, second: str) -> None:
        if first in self.params and second in self.params:
            self.fail(second, f"The {second} field is prohibited when {first} is present.")

    def done(self) -> None:
        if self.errors:
            raise ApiError(1003, "Invalid input.", errors=self.errors)
