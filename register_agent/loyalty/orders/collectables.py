"""Collectable rewards through Leat's client API: the rewards a contact pre-redeemed (a claim
of a pre-redeemable reward took the credits), waiting to be collected at the counter. The
till lists them for the POS (``counter/collectables.py``), the outbox collects one when
the sale naming it is recorded and reverses the collection when the sale is voided
(``outbox/collectables.py``).

The registers page prints the list and the collect call at ``/api//collectable-rewards``
with the register key, a path with a segment missing; ``leat-openapi.yaml`` has them only
on the client API, and the reverse is documented there alone: all three are called there,
under the account's personal access token (docs/register-api.md).
"""

from __future__ import annotations

from pydantic import TypeAdapter

from register_agent.loyalty.client_http import ClientApiHttp
from register_agent.loyalty.forms import segment
from register_agent.loyalty.http import parse_with
from register_agent.loyalty.orders.models import CollectableReward, Collection
from register_agent.loyalty.retries import Deadline

_WAITING = parse_with(TypeAdapter(list[CollectableReward]))
_COLLECTION = parse_with(TypeAdapter(Collection))


class CollectableRewards:
    """A contact's waiting rewards, collecting one and reversing a collection."""

    def __init__(self, http: ClientApiHttp) -> None:
        self._http = http

    async def waiting(
        self, contact_uuid: str, *, deadline: Deadline | None = None
    ) -> list[CollectableReward]:
        """The rewards ``contact_uuid`` still has to pick up (the list leaves out the
        collected ones, as the docs describe it: "still need to be picked up")."""
        found = await self._http.get(
            "/collectable-rewards", _WAITING, params={"contact_uuid": contact_uuid},
            deadline=deadline,
        )  # fmt: skip
        return [reward for reward in found if not reward.has_been_collected]

    async def collect(self, uuid: str) -> Collection:
        """``PUT /collectable-rewards/collect/{uuid}``: ``uuid`` is the loyalty transaction
        (the claim's reception) the reward was pre-redeemed with."""
        return await self._http.put(f"/collectable-rewards/collect/{segment(uuid)}", _COLLECTION)

    async def reverse(self, uuid: str) -> Collection:
        """Back to collectable: the customer may collect it another time; the credits stay
        spent (the docs: it "restores a collected reward back to collectable status")."""
        return await self._http.post(f"/collectable-rewards/{segment(uuid)}/reverse", _COLLECTION)

    async def aclose(self) -> None:
        await self._http.aclose()
