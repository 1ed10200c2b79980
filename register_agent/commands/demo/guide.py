"""The guide of ``register-agent demo``: what every step of the tour does alike. It tells
the step, checks each outcome against what the tour expected, plays the POS over the local
API and the customer's phone over the sandbox's control routes (with the standard library's
HTTP, ``local_client.py``), and draws the receipts. The steps themselves are in
``demo/tour.py`` and ``demo/counter_steps.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from register_agent.commands.demo.ledger import Expected
from register_agent.commands.local_client import JsonClient, Reply
from register_agent.commands.status import describe
from register_agent.errors import AgentUnreachable
from register_agent.receipts.layout import Receipt

WAIT_S = 5.0  # for the till to take a scan


class DemoFailed(Exception):  # a tour outcome, not an agent failure: outside errors.py
    """A step's outcome was not what the tour expected; the message names the step."""


@dataclass(frozen=True)
class DemoTill:
    """The till as the tour drives it."""

    pos: JsonClient  # the local API, with the till's token
    sandbox: JsonClient  # the sandbox Register API (its /_sandbox/ control routes)
    scan: Callable[[str], None]  # a card on the counter's reader
    #: (sale id, PNG path, copy) -> the receipt as the agent composes it, drawn at the path
    preview: Callable[[str, Path, bool], Receipt]
    #: ``[receipt] customer_attributes`` of the demo's till: what a receipt prints
    receipt_attributes: dict[str, str] = field(default_factory=dict)
    #: where an old till prints to the agent (the pass-through); None: no such step
    till_printer: tuple[str, int] | None = None
    #: the bytes of every job the printer holds complete
    printer_jobs: Callable[[], list[bytes]] = list


class Guide:
    """Tells and checks the steps; the first outcome that differs raises ``DemoFailed``."""

    def __init__(self, till: DemoTill, out: Path, say: Callable[[str], None] = print) -> None:
        self._till = till
        self._out = out
        self._say = say
        self._step = "start"
        self._sales: list[Expected] = []  # every sale the ledger must show credited once
        self._previews: list[Path] = []

    def _begin(self, step: str) -> None:
        self._step = step
        self._say(f"\n{step}")

    def _check(self, condition: object, expected: str) -> None:
        if not condition:
            raise DemoFailed(f"{self._step!r}: expected {expected}")

    def _say_status(self, status: dict[str, Any]) -> None:
        lines = describe(status).splitlines()
        self._say("   `register-agent status` now says:")
        for line in lines:
            self._say(f"     {line}")

    def _pos(self, method: str, path: str, body: object = None) -> Reply:
        reply = self._call(self._till.pos, method, path, body)
        self._check(reply.ok, f"{method} {path} to succeed, got {reply.status} {reply.body}")
        return reply

    def _answer(self, method: str, path: str, body: object = None) -> Reply:
        """The local API's answer, a refusal included (the step checks it)."""
        return self._call(self._till.pos, method, path, body)

    def _sandbox(self, method: str, path: str, body: object = None) -> Reply:
        return self._call(self._till.sandbox, method, path, body)

    def _call(self, client: JsonClient, method: str, path: str, body: object) -> Reply:
        try:
            return client.request(method, path, body if method in ("POST", "PUT") else None)
        except AgentUnreachable as exc:
            raise DemoFailed(f"{self._step!r}: {exc}") from exc

    def _sell(
        self,
        sale_id: str,
        amount: Decimal,
        *,
        lines: Sequence[tuple[str, str]] = (),
        card: str | None = None,
    ) -> dict[str, Any]:
        sale: dict[str, Any] = {"sale_id": sale_id, "amount": str(amount)}
        if lines:
            sale["lines"] = [{"text": text, "amount": price} for text, price in lines]
        if card is not None:
            sale["customer_card"] = card
        body: dict[str, Any] = self._pos("POST", "/v1/sales", sale).body
        return body

    def _customer(self) -> dict[str, Any]:
        """The till's customer once the scan is taken (bounded wait)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            reply = self._pos("GET", "/v1/customer")
            if reply.status == 200:
                customer: dict[str, Any] = reply.body
                return customer
            time.sleep(0.05)
        raise DemoFailed(f"{self._step!r}: the scan did not reach the till within {WAIT_S} s")

    def _preview(self, sale_id: str, name: str, copy: bool = False) -> Receipt:
        path = self._out / name
        receipt = self._till.preview(sale_id, path, copy)
        self._previews.append(path)
        self._say(f"   Receipt preview: {path}")
        return receipt
