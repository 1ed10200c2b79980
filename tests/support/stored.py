"""An operation's payload or result as the journal stores it (its JSON object), for tests
that check exactly what was written, and a payload made from such an object."""

from __future__ import annotations

import json
from typing import Any, overload

from register_agent.journal.payloads import Payload, StoredJson, read_payload
from register_agent.journal.results import Result, read_result


@overload
def stored(value: StoredJson) -> dict[str, Any]: ...


@overload
def stored(value: None) -> None: ...


def stored(value: StoredJson | None) -> dict[str, Any] | None:
    return None if value is None else value.to_json()


def as_payload(kind: str, data: dict[str, Any]) -> Payload:
    """``data`` as the journal reads a row of ``kind`` holding it (its kind's model, or the
    keys kept as they are when it does not fit)."""
    return read_payload(kind, json.dumps(data))


def as_result(kind: str, data: dict[str, Any]) -> Result:
    """``data`` as the journal reads the result of a ``kind`` operation holding it."""
    result = read_result(kind, json.dumps(data))
    assert result is not None
    return result
