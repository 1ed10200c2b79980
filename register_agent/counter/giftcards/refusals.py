"""How the till refuses a giftcard request: a stable code for the POS and a sentence the
cashier can read, from the Register API's outcome (``LoyaltyApiError`` and its code)."""

from __future__ import annotations

from register_agent.common.money import to_euros
from register_agent.errors import (
    CounterRefusal,
    CredentialsRejected,
    LoyaltyApiError,
    NotApplied,
    RequestRejected,
)
from register_agent.receipts.layout import Language, format_money

#: the Register API's refusals of a giftcard call, as the POS sees them
REFUSALS: dict[int, tuple[str, int, str]] = {
    5001: ("giftcard_unknown", 404, "this is not a giftcard of this shop; check the card"),
    1003: ("giftcard_unknown", 404, "this is not a giftcard of this shop; check the card"),
    7010: ("giftcard_invalid", 409, "this giftcard is not valid; ask for another payment"),
    5002: ("giftcard_expired", 409, "this giftcard has expired; ask for another payment"),
    5006: ("giftcard_no_top_up", 409, "this giftcard cannot be topped up"),
    5007: ("giftcard_no_program", 409, "this giftcard belongs to no giftcard program"),
    5008: ("giftcard_max_exceeded", 409, "the giftcard would hold more than it may; top up less"),
    7015: ("giftcard_no_access", 409, "this shop may not take giftcards of this program"),
    5010: ("giftcard_transaction_unknown", 404, "the loyalty service does not know it"),
    55025: (
        "giftcard_not_last",
        409,
        "only the card's last transaction can be corrected: another one followed this payment; "
        "book a top-up or a payment for the difference instead",
    ),
}


def insufficient(balance_cents: int, language: Language, currency: str) -> CounterRefusal:
    held = format_money(to_euros(balance_cents), language, currency)
    return CounterRefusal(
        "giftcard_insufficient",
        f"the giftcard holds {held}; ask for another payment for the rest",
        status=409,
    )


def refusal(
    exc: LoyaltyApiError,
    balance_cents: int | None = None,
    held_as: tuple[Language, str] | None = None,
) -> CounterRefusal:
    """A refusal for a failed call; a too-low balance (5003) that is known is named, in the
    receipt's ``held_as`` language and currency."""
    if isinstance(exc, RequestRejected) and exc.code == 5003 and balance_cents and held_as:
        return insufficient(balance_cents, *held_as)
    if isinstance(exc, NotApplied):
        return CounterRefusal(
            "giftcard_offline",
            "the giftcard service cannot be reached: giftcards work online only; ask for "
            "another payment, or try again in a moment",
            status=503,
        )
    if isinstance(exc, CredentialsRejected):
        return CounterRefusal.key_refused()
    if exc.code == 5003:
        return CounterRefusal(
            "giftcard_insufficient",
            "the giftcard's balance is too low for this amount; ask for another payment",
            status=409,
        )
    if isinstance(exc, RequestRejected) and exc.code in REFUSALS:
        code, status, message = REFUSALS[exc.code]
        return CounterRefusal(code, message, status=status)
    return CounterRefusal("giftcard_refused", f"the giftcard was refused: {exc}", status=409)


def conflict(payment_id: str) -> CounterRefusal:
    return CounterRefusal(
        "giftcard_conflict",
        f"payment {payment_id} was already made with another card or amount; use a new id",
        status=409,
    )


def not_confirmed() -> CounterRefusal:
    return CounterRefusal(
        "giftcard_not_confirmed",
        "the giftcard payment is not confirmed yet: send it again with the same id in a few "
        "seconds (it is checked before anything is sent again); do not take another payment",
        status=409,
    )


def needs_review() -> CounterRefusal:
    return CounterRefusal(
        "giftcard_check_card",
        "the giftcard payment could not be confirmed and the card's balance changed in "
        "another way: check the card's transactions in the dashboard before taking money",
        status=409,
    )
