"""Request encoding the way the vendor's PHP SDK does it: form-urlencoded bodies with PHP
bracket keys for nested values (``attributes[name]=...``), and GET parameters in the query
of the request's URL (``RequestUrls``).

Money is a ``Decimal`` written in plain notation (``12.50``, never ``1.25E+1``); floats are
refused, so no binary rounding ever reaches an amount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from urllib.parse import quote, urlencode

import httpx

FormScalar = str | int | Decimal | bool | None
FormValue = FormScalar | Mapping[str, "FormValue"] | Sequence["FormValue"]
FormFields = Mapping[str, FormValue]

#: the parsed URLs without a query one API's requests keep at most (``RequestUrls``)
MAX_KEPT_URLS = 256


def decimal_text(value: Decimal) -> str:
    """``Decimal`` in plain notation, as the API expects an amount in currency units."""
    if not value.is_finite():
        raise ValueError(f"an amount must be a finite number, not {value}")
    return format(value, "f")


def shortest_decimal_text(value: Decimal) -> str:
    """The shortest plain form: ``12.50`` -> ``12.5``, ``10.00`` -> ``10`` (loyalty tokens)."""
    text = decimal_text(value.normalize())
    return "0" if text in ("-0", "0") else text


def _scalar_text(value: FormScalar) -> str:
    # bool before int: bool is an int subclass; PHP's http_build_query sends 1 / 0
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, float):
        raise TypeError("floats are not sent to the Register API; use Decimal for amounts")
    return str(value)


def _flatten(key: str, value: FormValue, pairs: list[tuple[str, str]]) -> None:
    if value is None:
        return  # absent optional field: PHP's http_build_query leaves nulls out too
    if isinstance(value, Mapping):
        for sub_key, sub_value in value.items():
            _flatten(f"{key}[{sub_key}]", sub_value, pairs)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for index, item in enumerate(value):
            _flatten(f"{key}[{index}]", item, pairs)
    else:
        pairs.append((key, _scalar_text(value)))


def form_pairs(fields: FormFields) -> list[tuple[str, str]]:
    """Fields as ordered ``(key, text)`` pairs; ``None`` values are left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        _flatten(key, value, pairs)
    return pairs


def encode_form(fields: FormFields) -> bytes:
    """An ``application/x-www-form-urlencoded`` body (``+`` for spaces, like PHP)."""
    return urlencode(form_pairs(fields)).encode("ascii")


def segment(value: str) -> str:
    """A value put into a URL path (a uuid from the journal or the POS), quoted so that a
    stray ``/`` or ``..`` cannot reach another route."""
    return quote(value, safe="").replace(".", "%2E")


class RequestUrls:
    """The URLs of one API's requests: its base and a path, GET parameters in the query.
    One without a query is parsed once and kept: parsing a URL was a share of each
    request's CPU, and the outbox posts to the same few paths."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/") + "/"
        self._kept: dict[str, httpx.URL] = {}

    def of(self, path: str, params: FormFields | None) -> httpx.URL:
        url = self._base + path.lstrip("/")
        if params:
            return httpx.URL(url + "?" + str(httpx.QueryParams(tuple(form_pairs(params)))))
        parsed = self._kept.get(url)
        if parsed is None:
            if len(self._kept) >= MAX_KEPT_URLS:  # paths with ids in them: kept bounded
                self._kept.clear()
            parsed = self._kept[url] = httpx.URL(url)
        return parsed
