"""The end of ``register-agent demo``: what the sandbox's ledger says the Register API
applied, summed up per kind and per member, with the tour's sales checked against it
(every sale credited, none twice), and the counter work (cards handed out, newsletter
sign-ups, giftcard transactions, vouchers redeemed, pre-redeemed rewards collected).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from register_agent.common.money import to_euros

#: ledger rows of a customer collecting a receipt's QR code (v3 token, v1 staged reception)
QR_CLAIM_KINDS = ("token_claim", "staged_claim")
#: a customer created at the counter (v1 member, v3 contact) and a card linked to one
CREATED_KINDS = ("member_created", "contact_created")
LINKED_KINDS = ("card_linked", "identifier_linked")


@dataclass(frozen=True)
class Expected:
    """A sale of the tour that must be credited exactly once (the tour's amounts differ,
    so the amount tells the sales apart in either API version)."""

    sale_id: str
    card: str
    amount: Decimal


@dataclass
class Summary:
    receptions: int = 0
    qr_claims: int = 0
    reward_claims: int = 0
    #: member e-mail -> credits added and taken by this tour; and the balance after
    credits: dict[str, int] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    missing: list[str] = field(default_factory=list)
    counter: Counter[str] = field(default_factory=Counter)
    #: what the giftcard transactions moved, in cents (payments negative), and the balance
    #: the last one left on its card
    giftcard_cents: int = 0
    giftcard_left_cents: int | None = None

    def lines(self) -> list[str]:
        members = [
            f"  {email}: {credits:+d} points, balance {self.balances.get(email, '?')}"
            for email, credits in sorted(self.credits.items())
        ]
        return [
            f"credit receptions: {self.receptions} (one per sale with a customer)",
            f"QR codes collected: {self.qr_claims}",
            f"rewards claimed: {self.reward_claims}",
            "credits per member:",
            *members,
            f"duplicates: {self.duplicates}",
            f"sales not credited: {', '.join(self.missing) or 'none'}",
            f"customers created: {self.counter['created']}, cards linked: {self.counter['linked']}",
            f"newsletter sign-ups: {self.counter['opt_in']}",
            f"giftcard transactions: {self.counter['giftcard']} ({_euros(self.giftcard_cents)}),"
            f" left on the card: {_euros(self.giftcard_left_cents)}",
            f"vouchers redeemed: {self.counter['voucher']}, rewards collected: "
            f"{self.counter['collected']}",
        ]


def summarise(rows: Iterable[Mapping[str, Any]], sales: Sequence[Expected]) -> Summary:
    rows = list(rows)
    # a sale's credits: a credit reception (v1, v3) or an order's points (not a return's)
    receptions = [
        row
        for row in rows
        if row.get("kind") == "credit_reception"
        or (row.get("kind") == "points_transaction" and not row.get("order_return"))
    ]
    per_amount = Counter(Decimal(str(row.get("amount"))) for row in receptions)
    credited = [sale for sale in sales if per_amount[sale.amount] > 0]
    summary = Summary(
        receptions=len(receptions),
        qr_claims=sum(1 for row in rows if row.get("kind") in QR_CLAIM_KINDS),
        reward_claims=sum(1 for row in rows if row.get("kind") == "reward_reception"),
        # any reception beyond one per credited sale is one too many, whatever its amount
        duplicates=len(receptions) - len(credited),
        missing=[sale.sale_id for sale in sales if sale not in credited],
    )
    summary.credits, summary.balances = _per_member(rows)
    _count_counter_work(rows, summary)
    return summary


def _count_counter_work(rows: Iterable[Mapping[str, Any]], summary: Summary) -> None:
    for row in rows:
        kind = row.get("kind")
        if kind in CREATED_KINDS:
            summary.counter["created"] += 1
        elif kind in LINKED_KINDS:
            summary.counter["linked"] += 1
        elif _opted_in(row):
            summary.counter["opt_in"] += 1
        elif kind == "voucher_redeemed":
            summary.counter["voucher"] += 1
        elif kind == "collectable_reward_collected":
            summary.counter["collected"] += 1
        elif kind == "giftcard_transaction":
            summary.counter["giftcard"] += 1
            summary.giftcard_cents += int(row.get("amount_in_cents") or 0)
            summary.giftcard_left_cents = row.get("balance_after_cents")


def _opted_in(row: Mapping[str, Any]) -> bool:
    """v1: a marketing recipient subscribed; v3: a subscription that became SUBSCRIBED."""
    if row.get("kind") in ("marketing_recipient_created", "marketing_recipient_updated"):
        return row.get("is_subscribed") is True
    return row.get("kind") == "subscription_changed" and row.get("status") == "SUBSCRIBED"


def _euros(cents: int | None) -> str:
    return "?" if cents is None else f"EUR {to_euros(cents)}"


def _per_member(rows: Iterable[Mapping[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    credits: dict[str, int] = defaultdict(int)
    balances: dict[str, int] = {}
    for row in rows:
        member = row.get("member")
        if not isinstance(member, Mapping) or not isinstance(row.get("credits"), int):
            continue
        if member.get("email") is None:  # a collection's row: no credits, no e-mail
            continue
        email = str(member.get("email"))
        credits[email] += row["credits"]
        if isinstance(row.get("balance_after"), int):
            balances[email] = row["balance_after"]
    return dict(credits), balances
