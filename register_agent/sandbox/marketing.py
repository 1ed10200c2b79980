"""The sandbox's marketing state: v1 marketing recipients (one per program and e-mail) and
v3 contact subscriptions (a status per contact and subscription type). Reset with the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from register_agent.sandbox.seed import SubscriptionType

SUBSCRIBED = "SUBSCRIBED"
UNSUBSCRIBED = "UNSUBSCRIBED"
PENDING = "PENDING_CONFIRMATION"


@dataclass
class Recipient:
    """A v1 marketing recipient: an e-mail address on one marketing program's list."""

    id: int
    program_id: int
    email: str
    is_subscribed: bool = True


@dataclass
class Marketing:
    recipients: list[Recipient] = field(default_factory=list)
    #: (contact uuid, subscription type uuid) -> status; absent: the strategy's default
    statuses: dict[tuple[str, str], str] = field(default_factory=dict)
    _next_id: int = 88_000

    @classmethod
    def after(cls, previous: Marketing | None) -> Marketing:
        """Empty again (a reset), but never handing out a recipient id twice."""
        return cls(_next_id=previous._next_id) if previous else cls()

    def recipient(self, program_id: int, email: str) -> Recipient | None:
        wanted = email.strip().lower()
        return next(
            (r for r in self.recipients if r.program_id == program_id and r.email == wanted),
            None,
        )

    def add_recipient(self, program_id: int, email: str) -> Recipient:
        self._next_id += 1
        recipient = Recipient(self._next_id, program_id, email.strip().lower())
        self.recipients.append(recipient)
        return recipient

    def status(self, contact_uuid: str, kind: SubscriptionType) -> str:
        default = SUBSCRIBED if kind.strategy == "OPT_OUT" else UNSUBSCRIBED
        return self.statuses.get((contact_uuid, kind.uuid), default)

    def subscribe(self, contact_uuid: str, kind: SubscriptionType) -> str:
        """Opt in: a double opt-in type waits for the customer's confirmation e-mail."""
        now = self.status(contact_uuid, kind)
        status = PENDING if kind.strategy == "DOUBLE_OPT_IN" and now != SUBSCRIBED else SUBSCRIBED
        self.statuses[(contact_uuid, kind.uuid)] = status
        return status

    def unsubscribe(self, contact_uuid: str, kind: SubscriptionType) -> str:
        self.statuses[(contact_uuid, kind.uuid)] = UNSUBSCRIBED
        return UNSUBSCRIBED
