"""How the enrolment desk's failures reach the POS: a ``CounterRefusal`` with a stable code
and a sentence for the cashier, from the client's outcome classes (at the counter, a clear
answer: docs/architecture.md, "When something fails")."""

from __future__ import annotations

from register_agent.counter.health import TillHealth
from register_agent.errors import (
    CounterRefusal,
    CredentialsRejected,
    LoyaltyApiError,
    NotApplied,
    OutcomeUnknown,
    RequestRejected,
)
from register_agent.loyalty.domain import CardState
from register_agent.loyalty.enrolment import HandOutRefused, ListingUnsupported

#: the API's "no customer has this e-mail": v1 member, v3 contact
_NOT_FOUND = frozenset({55012, 55031})


def refusal(exc: LoyaltyApiError, health: TillHealth, action: str) -> CounterRefusal:
    """The answer to the POS for ``exc``, met while ``action`` ("handing out a card")."""
    if isinstance(exc, (NotApplied, CredentialsRejected, OutcomeUnknown)):
        health.api_failed(exc)
        return _unavailable(exc, action)
    health.api_answered()  # a refusal with a code is an answer
    if isinstance(exc, HandOutRefused):
        return CounterRefusal(exc.reason, str(exc), status=409)
    if isinstance(exc, ListingUnsupported):
        return CounterRefusal("customer_list_unsupported", str(exc), status=409)
    code = exc.code if isinstance(exc, RequestRejected) else None
    if code in _NOT_FOUND:
        return CounterRefusal(
            "customer_not_found",
            "no customer has this e-mail address; check it, or hand out a card to enrol them",
            status=404,
        )
    if code == 1003:
        return CounterRefusal("invalid_email", f"the loyalty service refused it: {exc}", status=422)
    return CounterRefusal("enrolment_refused", str(exc), status=409)


def _unavailable(exc: LoyaltyApiError, action: str) -> CounterRefusal:
    if isinstance(exc, CredentialsRejected):
        return CounterRefusal.key_refused()
    if isinstance(exc, OutcomeUnknown):
        return CounterRefusal(
            "not_confirmed",
            f"the loyalty service did not confirm {action}; send it again (repeating it "
            "is harmless)",
            status=503,
        )
    return CounterRefusal(
        "offline",
        f"{action} needs the loyalty service, which cannot be reached now; try again in a moment",
        status=503,
    )


def card_refusal(state: CardState, reason: str) -> CounterRefusal:
    """A card typed at the POS that cannot be the next sale's customer."""
    if state is CardState.UNREGISTERED:
        return CounterRefusal(
            "card_unregistered",
            "this card is not registered to a customer yet: hand it out with the "
            "customer's e-mail (Hand out card)",
            status=409,
        )
    code = "card_inactive" if state is CardState.INACTIVE else "card_unknown"
    return CounterRefusal(code, reason, status=409)
