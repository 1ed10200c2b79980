"""The slips of their own printed at the counter: the welcome slip of a card handed out
(the shop's name, the card by its last characters, the starting balance), and the claim
slip of a digital reward (its title and the code the customer uses).

Each goes through the printer worker like a receipt: a zero-amount entry in the journal's
sales whose request carries ``welcome`` and the slip's lines (no migration needed, and a
reprint works as for any sale). A welcome slip's id comes from the card and the e-mail, a
claim slip's from the claim id, so a repeated hand-out or claim finds the slip it already
printed instead of printing another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from register_agent.journal import PrintJob, SaleRecord
from register_agent.receipts.layout import Language, Receipt, text
from register_agent.receipts.slip_times import copy_and_times

#: the journal entry's request key that makes a "sale" a welcome slip
WELCOME = "welcome"
#: how every slip of its own starts its id (the sales metric leaves them out)
SLIP_PREFIX = "welcome-"

_CLAIM_TEXTS: dict[str, dict[Language, str]] = {
    "reward": {"en": "Your reward: {title}", "nl": "Uw beloning: {title}"},
    "code": {"en": "Your code: {code}", "nl": "Uw code: {code}"},
}


def slip_id(card: str, email: str) -> str:
    """The same card and e-mail: the same slip (the POS's sale ids never start so)."""
    digest = hashlib.sha256(f"{card}\n{email.strip().lower()}".encode()).hexdigest()
    return f"{SLIP_PREFIX}{digest[:16]}"


def claim_slip_id(claim_id: str) -> str:
    """The same claim id: the same slip (hashed: a POS's claim id may hold any character)."""
    return f"{SLIP_PREFIX}claim-{hashlib.sha256(claim_id.encode()).hexdigest()[:16]}"


def claim_lines(title: str, code: str, language: Language) -> tuple[str, ...]:
    """A digital reward's slip: what was claimed and the code that redeems it."""
    return (
        _CLAIM_TEXTS["reward"][language].format(title=title),
        _CLAIM_TEXTS["code"][language].format(code=code),
    )


def welcome_lines(
    shop: str, card_tail: str, balance: int | None, language: Language
) -> tuple[str, ...]:
    lines = [f"{text('welcome', language)} {shop}"] if shop else []
    # stars, not "…": a printer's code page may have no ellipsis (it printed "?")
    lines.append(f"{text('your_card', language)}: ****{card_tail}")
    if balance is not None:
        lines.append(f"{text('new_balance', language)}: {balance}")
    lines.append(text("welcome_earn", language))
    return tuple(lines)


def welcome_record(
    sale_id: str, lines: tuple[str, ...], balance: int | None, currency: str, now: float
) -> SaleRecord:
    """The journal entry that prints the slip (no operations, no amount, no customer key)."""
    answer = {"sale_id": sale_id, "loyalty": {"state": "none", "lines": []}, "receipt": "printing"}
    return SaleRecord(
        sale_id=sale_id,
        request_digest=sale_id,
        amount_cents=0,
        currency=currency,
        customer_key=None,
        answer=answer,
        state="paid",
        created_at=now,
        request={WELCOME: {"lines": list(lines), "balance": balance}},
    )


def welcome_receipt(sale: SaleRecord, job: PrintJob) -> Receipt | None:
    """The slip of a welcome entry; None for any other sale."""
    welcome: Any = sale.request.get(WELCOME)
    if not isinstance(welcome, Mapping):
        return None
    # the balance is among the lines already (in the order the slip reads best)
    notes = tuple(str(line) for line in welcome.get("lines") or ())
    return Receipt(notes=notes, **copy_and_times(sale, job))
