"""Money as the till counts it: a ``Decimal`` of euros inside, integer cents where the
journal and the Register API keep amounts, never a float. The receipt's own spelling of an
amount (``€ 12,50``) is ``receipts.layout.format_money``.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import overload

CENT = Decimal("0.01")

#: the Register API keeps an amount in cents as a signed 32-bit number: 21,474,836.47 at
#: most; a larger one is refused (1003) after the till acknowledged the sale
API_MAX_AMOUNT = Decimal("21474836.47")

#: an amount as the POS spells it: ASCII digits, an optional dot and at most two decimals.
#: ``Decimal`` alone takes Arabic-Indic or full-width digits, "1e3", "1_000", "+5" and
#: surrounding spaces, none of which a POS means to send
POS_AMOUNT = re.compile(r"(-?)([0-9]{1,12})(?:\.([0-9]{1,2}))?", re.ASCII)


class NotAnAmount(ValueError):
    """A value that is no finite decimal number; each caller says so in its own words."""


def to_cents(amount: Decimal) -> int:
    """``Decimal("12.50")`` -> ``1250``; a fraction of a cent rounds half up."""
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


@overload
def to_euros(cents: int) -> Decimal: ...


@overload
def to_euros(cents: None) -> None: ...


def to_euros(cents: int | None) -> Decimal | None:
    """``1500`` -> ``Decimal("15.00")``, always two decimal places; None stays None."""
    return None if cents is None else (Decimal(cents) / 100).quantize(CENT)


def parse_pos_amount(text: str, *, signed: bool = False) -> Decimal:
    """An amount the POS sends to the local API, to the cent: ``"12.5"`` and ``"12.50"``
    are the same ``Decimal("12.50")``, so a repeat spelt otherwise is the same request.

    Only plain decimal strings (``POS_AMOUNT``); a minus sign only where ``signed`` (a
    receipt line's discount); never beyond ``API_MAX_AMOUNT``. NotAnAmount says why.
    """
    found = POS_AMOUNT.fullmatch(text)
    if found is None or (found.group(1) and not signed):
        example = '"12.50" or "-2.00"' if signed else '"12.50"'
        # the value is not repeated: a confused POS may have put a card number there
        raise NotAnAmount(
            f"send digits with an optional dot and at most two decimals, e.g. {example} "
            "(no spaces, signs, exponents or thousands separators)"
        )
    amount = Decimal(text).quantize(CENT)
    if abs(amount) > API_MAX_AMOUNT:
        raise NotAnAmount(f"is more than the Register API can hold ({API_MAX_AMOUNT})")
    return amount


def parse_amount(value: object) -> Decimal:
    """An amount as the journal keeps it (the decimal string the POS sent, or one an older
    agent wrote) as a Decimal; NotAnAmount when it is none ("1,50", "abc", "NaN"). What
    the POS sends now is checked by ``parse_pos_amount`` first."""
    try:
        amount = Decimal(str(value))
    except ArithmeticError as exc:
        raise NotAnAmount(f"{value!r} is not a decimal number") from exc
    if not amount.is_finite():
        raise NotAnAmount(f"{value!r} is not a decimal number")
    return amount
