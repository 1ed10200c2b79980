"""The event stream the POS software listens to: order, resumption, bounded backlog."""

from __future__ import annotations

import asyncio

import pytest

from register_agent.common.events import Event, EventBus

pytestmark = pytest.mark.anyio


async def collect(bus: EventBus, last_seen: int, count: int) -> list[Event]:
    events: list[Event] = []
    async for event in bus.subscribe(last_seen):
        events.append(event)
        if len(events) == count:
            break
    return events


async def test_subscribers_get_events_in_order_as_they_come() -> None:
    bus = EventBus()
    reader = asyncio.create_task(collect(bus, 0, 3))
    await asyncio.sleep(0)
    for kind in ("scan", "customer", "operation"):
        await bus.publish(kind, {"n": kind})
    events = await asyncio.wait_for(reader, 2)
    assert [(event.id, event.kind) for event in events] == [
        (1, "scan"),
        (2, "customer"),
        (3, "operation"),
    ]


async def test_a_reconnecting_pos_gets_what_it_missed() -> None:
    bus = EventBus()
    for number in range(5):
        await bus.publish("scan", {"n": number})
    events = await asyncio.wait_for(collect(bus, 3, 2), 2)
    assert [event.data["n"] for event in events] == [3, 4]


async def test_the_backlog_is_bounded_and_a_gap_is_reported() -> None:
    bus = EventBus(backlog=3)
    for number in range(10):
        await bus.publish("scan", {"n": number})
    missed, gap = bus.since(2)
    assert [event.id for event in missed] == [8, 9, 10]
    assert gap
    missed, gap = bus.since(8)
    assert [event.id for event in missed] == [9, 10]
    assert not gap
    assert bus.since(10) == ([], False)
