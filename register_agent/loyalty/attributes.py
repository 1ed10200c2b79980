"""Custom attributes of a customer, read from the Register API's answers into the domain's
``Mapping[str, str]``, and the ``Customer`` built from a v1 member or a v3 contact.

Every answer that names a customer (a scan, a look-up by e-mail) builds its ``Customer``
here, so the till sees the same attributes however the customer was found. Attributes are
personal data: nothing here logs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from register_agent.loyalty.domain import Customer, CustomerDetails, CustomerRef
from register_agent.loyalty.v1.models import LoyaltyCard, MemberWithBalance
from register_agent.loyalty.v3.models import Contact

#: longest attribute value carried; anything longer is not a till's business
MAX_VALUE = 200

# Decision: a v3 contact's values also hold the platform's own fields: ids, balances,
# statistics, subscription states and URLs, among them a log-in link for the customer's
# app (``custom_app_login_url``): a credential, never to be shown on a POS screen or paper.
# Those are left out by name; what remains is what the account defined (names, tier,
# birthday, address, its own custom attributes).
_SYSTEM_NAMES = frozenset(
    {
        "id", "uuid", "email", "hash", "type", "status", "member", "created_at",
        "updated_at", "avatar", "locale", "channel", "is_anonymous", "add_to_wallet",
        "custom_app_login_url", "custom_app_login_code", "prepaid_balance",
        "previous_loyalty_balance", "default_contact_identifier",
        "subscription_preferences_url", "credit_balance",
    }
)  # fmt: skip
_SYSTEM_PREFIXES = ("loyalty_", "subscription_status_", "double_opt_in_", "portal_")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def is_custom(name: str) -> bool:
    """Whether ``name`` is an attribute the account defined (not one of the platform's)."""
    return (
        _NAME.fullmatch(name) is not None
        and name not in _SYSTEM_NAMES
        and not name.startswith(_SYSTEM_PREFIXES)
    )


def _text(value: Any) -> str | None:
    """A scalar as text; empty, null and structured values are not shown."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | Decimal | float | str):
        text = str(value).strip()
        return text[:MAX_VALUE] if text else None
    return None


def custom_attributes(values: Any, *, skip: Iterable[str] = ()) -> dict[str, str]:
    """The custom attributes among ``values`` (an object of the API; ``[]`` is empty)."""
    if not isinstance(values, Mapping):
        return {}
    skipped = frozenset(skip)
    found: dict[str, str] = {}
    for name, value in values.items():
        text = _text(value)
        if text is not None and isinstance(name, str) and name not in skipped and is_custom(name):
            found[name] = text
    return found


def card_attributes(card: LoyaltyCard) -> dict[str, str]:
    """A v1 loyalty card's custom attributes (its extra keys)."""
    return custom_attributes(card.model_extra or {})


def member_details(found: MemberWithBalance) -> CustomerDetails:
    """A v1 member's balance and custom attributes (the member object's extra keys)."""
    balance = found.credit_balance.balance if found.credit_balance else None
    return CustomerDetails(balance, custom_attributes(found.member.model_extra or {}))


def contact_attributes(contact: Contact) -> dict[str, str]:
    """A v3 contact's custom attributes.

    Decision: ``current_display_values`` first (what the dashboard shows: "Gold", not the
    tier's id), then ``current_values`` for what has no display value, then the deprecated
    ``attributes`` for an older answer that has neither.
    """
    shown = custom_attributes(contact.current_display_values)
    for source in (contact.current_values, contact.attributes):
        for name, value in custom_attributes(source).items():
            shown.setdefault(name, value)
    return shown


def contact_details(contact: Contact) -> CustomerDetails:
    balance = contact.credit_balance.balance if contact.credit_balance else None
    return CustomerDetails(balance, contact_attributes(contact))


def merged(card: Mapping[str, str], member: Mapping[str, str]) -> dict[str, str]:
    """Decision: the member's attributes win over the card's on a shared name (the person's
    own data, kept up to date by them); the card's fill in the names the member lacks."""
    return {**card, **member}


def customer_from_member(found: MemberWithBalance, card: LoyaltyCard | None = None) -> Customer:
    """The ``Customer`` of a v1 member (found by card, id or e-mail), balance included."""
    details = member_details(found)
    attributes = merged(card_attributes(card) if card else {}, details.attributes)
    ref = CustomerRef(key=str(found.member.id), card=str(card.id) if card else None)
    return Customer(ref, found.member.email or "", details.balance, attributes)


def customer_from_contact(contact: Contact, card_value: str | None = None) -> Customer:
    """The ``Customer`` of a v3 contact (found by identifier, uuid or e-mail)."""
    details = contact_details(contact)
    ref = CustomerRef(key=str(contact.uuid), card=card_value)
    return Customer(ref, contact.email or "", details.balance, dict(details.attributes))
