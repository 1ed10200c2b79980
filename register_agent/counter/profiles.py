"""The customer's profile at the counter: the newsletter opt-in and the custom attributes
a cashier sets (a first name), for the scanned customer or one the POS names.

Online only, like reward claims: offline the POS gets a clear refusal. Nothing is queued
and nothing is journaled: both changes are idempotent by nature (the same opt-in twice is
one subscription), so after an unclear outcome the cashier simply tries again. Attribute
values are personal data: they are never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, Protocol

from pydantic import Field

from register_agent.common.events import EventBus
from register_agent.counter.customers import CurrentCustomer
from register_agent.counter.health import TillHealth
from register_agent.counter.messages import Message
from register_agent.errors import (
    ConfigError,
    CounterRefusal,
    CredentialsRejected,
    LoyaltyApiError,
    NotApplied,
    OutcomeUnknown,
)
from register_agent.loyalty.domain import CustomerRef
from register_agent.loyalty.profile import NewsletterState, ProfileService
from register_agent.loyalty.retries import Deadline

AttributeName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
AttributeValue = Annotated[str, Field(max_length=200)]
CustomerKey = Annotated[str, Field(min_length=1, max_length=64)]

#: what the POS shows the cashier after an opt-in or opt-out
NEWSLETTER_MESSAGES = {
    NewsletterState.SUBSCRIBED: "the customer is subscribed to the newsletter",
    NewsletterState.UNSUBSCRIBED: "the customer is not subscribed to the newsletter",
    NewsletterState.PENDING_CONFIRMATION: (
        "a confirmation e-mail was sent: the customer is subscribed once they confirm it"
    ),
}

#: Register API codes at the profile desk -> (stable code, HTTP status, cashier's message)
_REFUSALS: dict[int, tuple[str, int, str]] = {
    55004: ("newsletter_unknown", 409, "the newsletter set up for this till does not exist "
            "in the loyalty account; ask the installer"),
    55030: ("newsletter_unknown", 409, "the newsletter set up for this till does not exist "
            "in the loyalty account; ask the installer"),
    55012: ("unknown_customer", 404, "the loyalty account has no such customer"),
    55031: ("unknown_customer", 404, "the loyalty account has no such customer"),
    1003: ("profile_refused", 422, "the loyalty service did not accept this (only the "
           "attributes the account defines can be set)"),
}  # fmt: skip


class NewsletterRequest(Message):
    """``PUT /v1/customer/newsletter``: opt the customer in (true) or out (false)."""

    subscribed: bool
    #: v1 member id / v3 contact uuid; without it, the customer whose card was scanned
    customer_key: CustomerKey | None = None


class NewsletterAnswer(Message):
    subscribed: bool
    status: Literal["subscribed", "unsubscribed", "pending_confirmation"]
    message: str


class AttributesRequest(Message):
    """``PUT /v1/customer/attributes``: set these attributes (the others stay)."""

    attributes: dict[AttributeName, AttributeValue] = Field(min_length=1, max_length=20)
    customer_key: CustomerKey | None = None


class AttributesAnswer(Message):
    #: all the customer's custom attributes afterwards
    attributes: dict[str, str]


class ProfileApi(Protocol):
    """What the local API asks of the profile desk; refusals are ``CounterRefusal``."""

    async def set_newsletter(self, request: NewsletterRequest) -> NewsletterAnswer: ...

    async def set_attributes(self, request: AttributesRequest) -> AttributesAnswer: ...


class ProfileDesk:
    """Newsletter and attributes for the till's customers (``ProfileApi``)."""

    def __init__(
        self,
        profiles: ProfileService | None,
        customers: CurrentCustomer,
        events: EventBus,
        health: TillHealth,
        counter_deadline: Callable[[], Deadline | None] = lambda: None,
    ) -> None:
        self._profiles = profiles
        self._customers = customers
        self._events = events
        self._health = health
        self._counter_deadline = counter_deadline

    async def set_newsletter(self, request: NewsletterRequest) -> NewsletterAnswer:
        profiles = self._service()
        ref, email = self._customer(request.customer_key)
        try:
            state = await profiles.set_newsletter(
                ref, email, request.subscribed, deadline=self._counter_deadline()
            )
        except (LoyaltyApiError, ConfigError) as exc:
            raise self._refusal(exc, "the newsletter") from exc
        self._health.api_answered()
        return NewsletterAnswer(
            subscribed=state is NewsletterState.SUBSCRIBED,
            status=state.value,
            message=NEWSLETTER_MESSAGES[state],
        )

    async def set_attributes(self, request: AttributesRequest) -> AttributesAnswer:
        profiles = self._service()
        ref, _ = self._customer(request.customer_key)
        try:
            after = await profiles.update_attributes(
                ref, request.attributes, deadline=self._counter_deadline()
            )
        except (LoyaltyApiError, ConfigError) as exc:
            raise self._refusal(exc, "the customer's details") from exc
        self._health.api_answered()
        await self._show(ref, after)
        return AttributesAnswer(attributes=after)

    def _service(self) -> ProfileService:
        if self._profiles is None:
            raise CounterRefusal(
                "profile_unavailable", "this till cannot change customer profiles", status=409
            )
        return self._profiles

    def _customer(self, key: str | None) -> tuple[CustomerRef, str | None]:
        """The named customer, else the scanned one (with the e-mail the program knows)."""
        if key is not None:
            return CustomerRef(key=key), None
        bound = self._customers.peek()
        if bound is None or bound.customer is None:
            raise CounterRefusal(
                "no_customer",
                "scan the customer's card first (a card scanned offline cannot be used)",
                status=409,
            )
        return bound.customer.ref, bound.customer.display or None

    async def _show(self, ref: CustomerRef, attributes: dict[str, str]) -> None:
        """The scanned customer's new attributes on the POS screen (and on the receipt)."""
        bound = self._customers.update_attributes(ref, attributes)
        if bound is not None:
            await self._events.publish("customer", {**bound.view().model_dump(), "offline": False})

    def _refusal(self, exc: LoyaltyApiError | ConfigError, what: str) -> CounterRefusal:
        if isinstance(exc, ConfigError):
            return CounterRefusal(
                "newsletter_not_configured",
                f"this till has no newsletter set up; ask the installer ({exc})",
                status=409,
            )
        if isinstance(exc, NotApplied):
            self._health.api_failed(exc)
            return CounterRefusal(
                "offline",
                f"the loyalty service cannot be reached: {what} can only be changed online; "
                "try again in a moment",
                status=503,
            )
        if isinstance(exc, OutcomeUnknown):
            # idempotent by nature: sending the same change again cannot do it twice
            return CounterRefusal(
                "not_confirmed",
                f"the loyalty service did not confirm the change of {what}; send it again "
                "(the same change twice is harmless)",
                status=503,
            )
        if isinstance(exc, CredentialsRejected):
            self._health.api_failed(exc)
            return CounterRefusal.key_refused()
        self._health.api_answered()
        return _rejection(exc)


def _rejection(exc: LoyaltyApiError) -> CounterRefusal:
    """A refusal with a code (or one made here, before any request: status 0)."""
    if exc.code in _REFUSALS:
        code, status, message = _REFUSALS[exc.code]
        return CounterRefusal(code, message + _fields_of(exc), status=status)
    if exc.status == 0:  # e.g. a v1 limitation
        return CounterRefusal("profile_unsupported", str(exc), status=409)
    return CounterRefusal("profile_refused", f"the loyalty service refused: {exc}", status=409)


def _fields_of(exc: LoyaltyApiError) -> str:
    """The API's field errors, e.g. ``: attributes.shoe_size: The attribute ... does not
    exist.`` (the API's texts name fields, not the values sent)."""
    errors = getattr(exc, "field_errors", None) or {}
    found = [f"{name}: {messages[0]}" for name, messages in errors.items() if messages]
    return ": " + "; ".join(found[:3]) if found else ""
