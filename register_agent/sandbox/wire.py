"""The sandbox's HTTP body formats: JSON out (decimals as exact numbers), input bodies in;
and the cut of a connection its faults hang up on.

Amounts are ``Decimal`` inside the sandbox; on the wire they are plain JSON numbers
(``12.5``), written from the decimal's digits, never through a float.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import re
import secrets
import socket
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from register_agent.sandbox.params import ApiError, Params, parse_form, parse_json

_MARK = "dec" + secrets.token_hex(6)
_MARKED = re.compile(f'"{_MARK}(-?[0-9.]+){_MARK}"')


def _mark(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{_MARK}{format(value.normalize(), 'f')}{_MARK}"
    if isinstance(value, dict):
        return {k: _mark(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(v) for v in value]
    return value


def dump(value: Any) -> bytes:
    """JSON bytes of ``value``; a ``Decimal`` becomes the number with exactly its digits."""
    text = json.dumps(_mark(value), ensure_ascii=False)
    return _MARKED.sub(r"\1", text).encode()


def read_body(content_type: str, body: bytes) -> Params:
    """A POST/PUT body as Laravel reads it: form-urlencoded, JSON or multipart form data."""
    if not body.strip():
        return {}
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return parse_form(body.decode("utf-8", errors="replace"))
    if kind == "application/json" or kind.endswith("+json"):
        return parse_json(body)
    if kind == "multipart/form-data":
        return _multipart(content_type, body)
    raise ApiError(
        1003,
        "Invalid input: send the body as application/x-www-form-urlencoded, "
        "multipart/form-data or application/json.",
    )


def _multipart(content_type: str, body: bytes) -> Params:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
            fields.append(f"{_quote(name)}={_quote(text)}")
    return parse_form("&".join(fields))  # the same bracket-key rules as a urlencoded form


def _quote(text: str) -> str:
    return quote(text, safe="[]")


def cut(connection: socket.socket) -> None:
    """Hang up on ``connection`` now (both directions)."""
    with contextlib.suppress(OSError):  # already gone: nothing left to cut
        connection.shutdown(socket.SHUT_RDWR)
