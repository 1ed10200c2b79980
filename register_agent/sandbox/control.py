"""The sandbox's control routes under ``/_sandbox/`` (loopback only, no key): help, ledger,
faults, the request log, reset, and a customer claiming a receipt's QR code. Faults never
touch them.
"""

from __future__ import annotations

import hmac
import html
import json
import re
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from register_agent.sandbox import tokens
from register_agent.sandbox.faults import Faults, FaultSpecError
from register_agent.sandbox.help import HELP_TEXT
from register_agent.sandbox.params import ApiError
from register_agent.sandbox.records import Account, Transaction
from register_agent.sandbox.state import Store
from register_agent.sandbox.wire import dump

Answer = tuple[int, bytes, str]
JSON = "application/json"
_STAGED_PATH = re.compile(r".*/s/([A-Za-z0-9]+)/?")


class RunningSandbox(Protocol):
    """What the control routes use of the running sandbox (``server.SandboxServer``)."""

    @property
    def store(self) -> Store: ...
    @property
    def faults(self) -> Faults: ...
    @property
    def requests(self) -> deque[dict[str, Any]]: ...


def _help(server: RunningSandbox, body: bytes) -> Answer:
    return 200, HELP_TEXT.encode(), "text/plain; charset=utf-8"


def _ledger(server: RunningSandbox, body: bytes) -> Answer:
    with server.store.lock:
        rows = list(server.store.ledger.rows)
    return 200, dump({"data": rows, "meta": {"total": len(rows)}}), JSON


def _faults(server: RunningSandbox, body: bytes) -> Answer:
    return 200, dump({"data": server.faults.describe(), "meta": {}}), JSON


def _requests(server: RunningSandbox, body: bytes) -> Answer:
    rows = list(server.requests)
    return 200, dump({"data": rows, "meta": {"total": len(rows)}}), JSON


def _set_fault(server: RunningSandbox, body: bytes) -> Answer:
    active = server.faults.configure(_json(body))
    return 200, dump({"data": active, "meta": {}}), JSON


def _reset(server: RunningSandbox, body: bytes) -> Answer:
    server.faults.clear()
    server.requests.clear()
    with server.store.lock:
        server.store.reset()
    return 200, dump({"data": {"reset": True}, "meta": {}}), JSON


def _options(server: RunningSandbox, body: bytes) -> Answer:
    """Switches of the running sandbox, back to the seed's on reset:
    ``{"list_transaction_attributes": true}`` puts the custom attributes on the entries of
    a contact's loyalty-transaction list (the docs' list shows none)."""
    spec = _json(body)
    if not isinstance(spec, dict) or not set(spec) <= {"list_transaction_attributes"}:
        raise ApiError(1003, 'Invalid input: send {"list_transaction_attributes": true|false}.')
    value = spec.get("list_transaction_attributes")
    with server.store.lock:
        if isinstance(value, bool):
            server.store.list_attributes = value
        elif value is not None:
            raise ApiError(1003, "Invalid input: list_transaction_attributes is true or false.")
        options = {"list_transaction_attributes": server.store.list_attributes}
    return 200, dump({"data": options, "meta": {}}), JSON


def _claim(server: RunningSandbox, body: bytes) -> Answer:
    return 200, dump({"data": claim(server.store, _json(body)), "meta": {}}), JSON


ROUTES: dict[tuple[str, str], Callable[[RunningSandbox, bytes], Answer]] = {
    ("GET", "/_sandbox"): _help,
    ("GET", "/_sandbox/help"): _help,
    ("GET", "/_sandbox/ledger"): _ledger,
    ("GET", "/_sandbox/faults"): _faults,
    ("GET", "/_sandbox/requests"): _requests,
    ("POST", "/_sandbox/faults"): _set_fault,
    ("POST", "/_sandbox/reset"): _reset,
    ("POST", "/_sandbox/claim"): _claim,
    ("POST", "/_sandbox/options"): _options,
}


def handle(server: RunningSandbox, method: str, path: str, body: bytes) -> Answer:
    """Answer one control request: (status, body, content type)."""
    route = ROUTES.get((method, path.rstrip("/")))
    if route is None:
        message = "No such control route; see GET /_sandbox/"
        return 404, dump({"status_code": 404, "code": 404, "message": message}), JSON
    try:
        return route(server, body)
    except FaultSpecError as exc:
        return 400, dump({"status_code": 400, "code": 1003, "message": str(exc)}), JSON
    except ApiError as exc:
        return exc.status, dump(exc.body()), JSON


def landing(server: RunningSandbox, path: str, query: str) -> Answer:
    """What a phone shows after scanning a receipt's QR code: the customer portal's page
    for a staged reception (``/s/HASH``) or a loyalty token (``/l?...``). Claiming is
    ``POST /_sandbox/claim`` (the sandbox has no customer log-in)."""
    with server.store.lock:
        status, text = _landing_text(server.store, path, query)
    page = f"<!doctype html><title>Sandbox</title><p>{html.escape(text)}</p>\n"
    return status, page.encode(), "text/html; charset=utf-8"


def _landing_text(store: Store, path: str, query: str) -> tuple[int, str]:
    staged = _STAGED_PATH.fullmatch(path)
    if staged:
        found = next((s for s in store.staged if s.hash == staged.group(1)), None)
        if found is None:
            return 404, "No such staged credit reception."
        collected = " (already collected)" if found.claimed else ""
        return 200, f"{found.credits} credits waiting{collected}."
    params = dict(parse_qsl(query))
    expected = tokens.token_hash(params, store.seed.loyalty_token_secret)
    if not hmac.compare_digest(expected, params.get("hash", "").lower()):
        return 404, "This loyalty token is not valid."
    if (params.get("shop_uuid", ""), params.get("unique_id", "")) in store.claimed_tokens:
        return 200, "These points were already collected."
    return 200, "Points waiting: scan this code in the loyalty app to collect them."


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except ValueError as exc:
        raise ApiError(1003, "Invalid input: the body must be JSON.") from exc


def claim(store: Store, spec: Any) -> dict[str, Any]:
    """A customer scans a receipt's QR code: a staged reception URL or a loyalty-token URL."""
    if not isinstance(spec, dict) or not isinstance(spec.get("url"), str) or "member" not in spec:
        raise ApiError(1003, 'Invalid input: send {"url": "...", "member": id, uuid or email}.')
    parts = urlsplit(spec["url"])
    with store.lock:
        account = _member(store, spec["member"])
        staged = _STAGED_PATH.fullmatch(parts.path)
        if staged:
            txn = store.claim_staged(staged.group(1), account)
            store.ledger.transaction("staged_claim", txn, hash=staged.group(1))
        elif parts.path.rstrip("/").endswith("/l"):
            txn = tokens.claim(store, dict(parse_qsl(parts.query)), account, "portal")
        else:
            raise ApiError(
                1003,
                "Invalid input.",
                errors={
                    "url": [
                        "Not a staged credit reception (/s/HASH) or loyalty token (/l?...) URL."
                    ]
                },
            )
        return _claimed(txn)


def _member(store: Store, ref: object) -> Account:
    account = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        account = store.account(id=int(ref))
    elif isinstance(ref, str):
        account = store.account(uuid=ref) or store.account_by_email(ref)
    if account is None:
        raise ApiError(55012, "Member not found.")
    return account


def _claimed(txn: Transaction) -> dict[str, Any]:
    member = txn.account.member if txn.account else None
    return {
        "id": txn.id,
        "uuid": txn.uuid,
        "credits": txn.credits,
        "balance": txn.balance_after,
        "member": {"id": member.id, "uuid": member.uuid, "email": member.email} if member else None,
    }
