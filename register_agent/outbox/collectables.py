"""The outbox's handlers of collectable rewards: collecting a pre-redeemed reward when the
sale that names it is recorded, and reversing that collection when the sale is voided
(``journal.kinds.COLLECT_REWARD``, ``REVERSE_COLLECTION``), through the client API
(``loyalty/orders/collectables.py``).

A lost answer is settled by the contact's list of waiting rewards, a documented read that
names each one by the uuid the collect call took: waiting still, a collection did not land
(and a reverse did); gone, a collection landed (and a reverse did not). Nothing else takes
a reward off that list but its collection, its claim's reverse or its expiry, after which
a collection is refused anyway. Without the contact (a card scanned offline and never
resolved) nothing can tell: a person decides (``review``).
"""

from __future__ import annotations

from register_agent.journal import Operation
from register_agent.journal.kinds import COLLECT_REWARD
from register_agent.journal.payloads import CollectionPayload
from register_agent.journal.results import CollectionResult
from register_agent.loyalty.orders.collectables import CollectableRewards
from register_agent.outbox.contract import (
    Delivered,
    Progress,
    Reconciled,
    fitting_payload,
    payload_of,
    refused,
)


class CollectionHandler:
    """Collects a reward (``collect_reward``) or reverses its collection
    (``reverse_collection``); one class, since the two are each other's mirror."""

    def __init__(self, collectables: CollectableRewards | None, kind: str) -> None:
        self._collectables = collectables
        self._collecting = kind == COLLECT_REWARD

    def _service(self) -> CollectableRewards:
        if self._collectables is None:
            raise refused(
                "collectable rewards need the client API: set the personal access token "
                "(the credential personal-access-token) and reload, then resend this "
                "operation with register-agent review"
            )
        return self._collectables

    async def send(self, operation: Operation, progress: Progress) -> Delivered:
        payload = payload_of(operation, CollectionPayload)
        service = self._service()
        if self._collecting:
            done = await service.collect(payload.collectable_id)
        else:
            done = await service.reverse(payload.collectable_id)
        result = CollectionResult(collectable_id=payload.collectable_id, status=done.status)
        return Delivered(done.uuid, result)

    async def reconcile(self, operation: Operation) -> Delivered | Reconciled:
        payload = fitting_payload(operation, CollectionPayload)
        if payload is None:
            return Reconciled.NOT_APPLIED  # refused before anything was sent
        if payload.contact is None or self._collectables is None:
            return Reconciled.UNRESOLVABLE
        waiting = await self._collectables.waiting(payload.contact)
        still_waiting = any(reward.uuid == payload.collectable_id for reward in waiting)
        if still_waiting == self._collecting:
            return Reconciled.NOT_APPLIED  # sent again: the list says it did not land
        result = CollectionResult(collectable_id=payload.collectable_id)
        return Delivered(payload.collectable_id, result)
