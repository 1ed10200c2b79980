"""Request input for the sandbox: form / JSON bodies into one mapping, and strict field checks.

Piggy runs on Laravel, so the sandbox reads input the way Laravel does: query string and
body merged, PHP bracket keys (``attributes[x]=y``) nested, empty strings and JSON nulls
treated as absent. Every call names the fields it accepts; anything else is accepted and
ignored, as the real API does, and noted in the request log (``unknown_fields``) so tests
can check that the agent never sends a field the API does not know.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from decimal import Decimal
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl

Params = dict[str, Any]

_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
_BRACKETS = re.compile(r"\[([^\]]*)\]")
# Bounds like a database column's: a 32-bit integer, an amount below a billion
MAX_INTEGER = 2**31 - 1
MAX_AMOUNT = Decimal(10**9)
#: the unknown field names of the request being handled (each request has its own thread,
#: so its own context); None outside a request, e.g. a claim through the control routes
UNKNOWN_FIELDS: ContextVar[set[str] | None] = ContextVar("unknown_fields", default=None)


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


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, Decimal | int) or (
        isinstance(value, str) and _DECIMAL.fullmatch(value) is not None
    )


class Fields:
    """Checks one call's input; collects every field error, then :meth:`done` raises a 1003."""

    def __init__(self, params: Params, accepted: Iterable[str]) -> None:
        self.params = present(params)
        self.errors: dict[str, list[str]] = {}
        allowed = set(accepted)
        unknown = {name for name in params if name not in allowed}
        # Laravel validates the fields a call names and ignores the rest, so the real API
        # answers a field it does not know as if it were not sent; the sandbox does the
        # same and only notes the name for its request log.
        seen = UNKNOWN_FIELDS.get()
        if seen is not None:
            seen.update(unknown)
        for name in unknown:
            self.params.pop(name, None)

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
        if abs(number) > MAX_INTEGER:
            self.fail(name, f"The {name.replace('_', ' ')} may not be greater than {MAX_INTEGER}.")
            return None
        return number

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        if required:
            self.require(name)
        value = self.params.get(name)
        if value is None:
            return None
        number = Decimal(value) if _is_number(value) else None
        if number is None or not number.is_finite():
            self.fail(name, f"The {name.replace('_', ' ')} must be a number.")
            return None
        if abs(number) >= MAX_AMOUNT:
            self.fail(name, f"The {name.replace('_', ' ')} may not be greater than {MAX_AMOUNT}.")
            return None
        return number

    def not_both(self, first: str, second: str) -> None:
        if first in self.params and second in self.params:
            self.fail(second, f"The {second} field is prohibited when {first} is present.")

    def done(self) -> None:
        if self.errors:
            raise ApiError(1003, "Invalid input.", errors=self.errors)
