"""Money as the till counts it: a ``Decimal`` of euros inside, integer cents where the
journal and the Register API keep amounts, never a float. The receipt's own spelling of an
amount (``€ 12,50``) is ``receipts.layout.format_money``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import overload

CENT = Decimal("0.01")


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


def parse_amount(value: object) -> Decimal:
    """An amount the POS sent (a decimal string, kept as such in the journal) as a Decimal;
    NotAnAmount when it is none ("1,50", "abc", "NaN")."""
    try:
        amount = Decimal(str(value))
    except ArithmeticError as exc:
        raise NotAnAmount(f"{value!r} is not a decimal number") from exc
    if not amount.is_finite():
        raise NotAnAmount(f"{value!r} is not a decimal number")
    return amount
