"""The seed's vouchers (``[[vouchers]]``): codes a customer brings to the counter, as the
docs' Vouchers page shows them, read by the sandbox's voucher book (``voucher_state.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Voucher(BaseModel):
    """``[[vouchers]]``: ``code`` is what the voucher's QR / barcode carries (a bearer
    secret, like a card). ``contact``: the uuid of the member it was issued to (None: a
    flyer's voucher, redeemed for the contact the till names). Leat gives a voucher no
    amount: what it is worth is its name, description and attributes (a PLU among them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uuid: str
    code: str = Field(min_length=1)
    name: str
    description: str | None = None
    status: Literal["ACTIVE", "INACTIVE", "DEACTIVATED", "REDEEMED"] = "ACTIVE"
    #: ISO 8601; before it the voucher is INACTIVE (80014). Every documented voucher has one
    activation_date: str = "2026-01-01T00:00:00+00:00"
    expiration_date: str | None = None  # ISO 8601; past it the voucher is EXPIRED (80006)
    contact: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    promotion: str = "Sandbox promotion"


def voucher_problems(vouchers: Iterable[Voucher], member_uuids: set[str]) -> Iterable[str]:
    seen_codes: set[str] = set()
    seen_uuids: set[str] = set()
    for index, voucher in enumerate(vouchers):
        if voucher.code in seen_codes:
            yield f"vouchers[{index}].code: {voucher.code!r} appears twice"
        if voucher.uuid in seen_uuids:
            yield f"vouchers[{index}].uuid: {voucher.uuid!r} appears twice"
        seen_codes.add(voucher.code)
        seen_uuids.add(voucher.uuid)
        if voucher.contact is not None and voucher.contact not in member_uuids:
            yield f"vouchers[{index}].contact: no member with uuid {voucher.contact}"
