"""``GET /v1/events`` over real loopback HTTP: events in order with ids, resumption with
``Last-Event-ID`` (header or query), a ``gap`` event when the backlog lost some, keep-alive
comments, and a stream that ends promptly when the local API stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import anyio
import pytest

from register_agent.api.stream import Cursor, StreamGate, cursor_for, event_frames, run_of
from register_agent.common.events import EventBus
from tests.support.api_support import Api, SseReader, running_api

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(20)]


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with running_api(bus=EventBus(backlog=5)) as running:
        yield running


async def publish(api: Api, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        await api.bus.publish("scan", {"n": number, "card_tail": "C3D4"})


async def test_events_arrive_in_order_with_ids_after_the_opening(api: Api) -> None:
    await publish(api, 2)  # before the POS connects: not sent to a new stream
    async with api.client.stream("GET", "/v1/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = SseReader(response)
        opening = await stream.next_frame()
        assert opening.fields == {"retry": "2000"}
        await api.bus.publish("customer", {"display": "Jan", "balance": 150})
        await api.bus.publish("operation", {"sale_id": "s-1", "state": "done"})
        customer, operation = await stream.next_event(), await stream.next_event()
    run, _, number = customer.fields["id"].rpartition("-")
    assert number == "3"
    assert customer.fields["event"] == "customer"
    assert customer.data == {"display": "Jan", "balance": 150}
    assert operation.fields["id"] == f"{run}-4"
    assert operation.fields["event"] == "operation"
    assert operation.data == {"sale_id": "s-1", "state": "done"}


async def first_id(api: Api) -> str:
    """The id of a fresh event, as a POS that saw it would remember it."""
    async with api.client.stream("GET", "/v1/events") as response:
        stream = SseReader(response)
        await stream.next_frame()
        await publish(api, 1, start=100)
        return (await stream.next_event()).fields["id"]


async def test_a_reconnecting_pos_gets_only_what_it_missed(api: Api) -> None:
    seen = await first_id(api)
    await publish(api, 2)  # missed while away
    async with api.client.stream("GET", "/v1/events", headers={"Last-Event-ID": seen}) as response:
        stream = SseReader(response)
        missed = [(await stream.next_event()).data["n"] for _ in range(2)]
        await publish(api, 1, start=2)
        live = (await stream.next_event()).data["n"]
    assert missed == [0, 1]
    assert live == 2
    # the query string does the same for clients that cannot set headers
    async with api.client.stream("GET", "/v1/events", params={"last_event_id": seen}) as response:
        stream = SseReader(response)
        assert [(await stream.next_event()).data["n"] for _ in range(3)] == [0, 1, 2]


async def test_a_gap_is_announced_when_the_backlog_lost_events(api: Api) -> None:
    seen = await first_id(api)
    await publish(api, 8)  # the backlog keeps 5: three of these are gone
    async with api.client.stream("GET", "/v1/events", headers={"Last-Event-ID": seen}) as response:
        stream = SseReader(response)
        gap = await stream.next_event()
        kept = [(await stream.next_event()).data["n"] for _ in range(5)]
    assert gap.fields["event"] == "gap"
    assert "id" not in gap.fields  # the POS still names the last event it really got
    assert gap.data["last_event_id"] == seen
    assert "GET /v1/customer" in gap.data["message"]
    assert kept == [3, 4, 5, 6, 7]


async def test_an_id_from_before_a_restart_is_a_gap_then_the_backlog(api: Api) -> None:
    await publish(api, 2)
    headers = {"Last-Event-ID": "0badc0de-41"}  # another run of the agent
    async with api.client.stream("GET", "/v1/events", headers=headers) as response:
        stream = SseReader(response)
        assert (await stream.next_event()).fields["event"] == "gap"
        assert [(await stream.next_event()).data["n"] for _ in range(2)] == [0, 1]


async def test_a_quiet_stream_gets_keep_alive_comments(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    wait = StreamGate.wait

    async def recorded(gate: StreamGate, change: asyncio.Future[None], keepalive_s: float) -> None:
        waits.append(keepalive_s)
        await wait(gate, change, keepalive_s)

    monkeypatch.setattr(StreamGate, "wait", recorded)
    async with (
        running_api(keepalive_s=0.2) as api,
        api.client.stream("GET", "/v1/events") as response,
    ):
        stream = SseReader(response)
        await stream.next_frame()
        keep_alive = await stream.next_frame(timeout=30)
        assert keep_alive.comments == ["keep-alive"]
        assert keep_alive.fields == {}
    # the comment came after the stream had waited keepalive_s for an event, not before
    assert waits[:1] == [0.2]


async def test_the_stream_ends_promptly_when_the_api_stops() -> None:
    # a graceful period of an hour: the stream can only end in time by ending itself
    async with (
        running_api(graceful_s=3600) as api,
        api.client.stream("GET", "/v1/events") as response,
    ):
        stream = SseReader(response)
        await stream.next_frame()
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(api.server.stop)
                with pytest.raises(EOFError):  # ended whole, not cut
                    await stream.next_frame(timeout=30)


async def test_where_a_stream_starts() -> None:
    bus = EventBus(backlog=5)
    for number in range(3):
        await bus.publish("scan", {"n": number})
    run = run_of(bus)
    assert cursor_for(bus, None) == Cursor(3, gap=False)
    assert cursor_for(bus, " ") == Cursor(3, gap=False)
    assert cursor_for(bus, f"{run}-1") == Cursor(1, gap=False)
    assert cursor_for(bus, f"{run}-3") == Cursor(3, gap=False)
    for unknown in (f"{run}-4", f"{run}-x", "1", "other-2", "-"):
        assert cursor_for(bus, unknown) == Cursor(0, gap=True), unknown


async def test_a_published_event_is_written_before_the_publishers_next_task_runs() -> None:
    # The scan desk publishes "customer_identified", then starts the balance and reward
    # reads: the stream must write the event first, not a few turns of the loop later,
    # behind the building and sending of those requests.
    bus, gate = EventBus(), StreamGate()
    frames = event_frames(bus, cursor_for(bus, None), gate, None, 30.0)
    assert (await anext(frames)).startswith(": register-agent events")
    order: list[str] = []

    async def stream() -> None:
        frame = await anext(frames)
        order.append(frame.split("\n")[1])

    async def reads() -> None:
        order.append("the reads start")

    streaming = asyncio.create_task(stream())
    for _ in range(3):  # the stream reaches its wait for an event
        await asyncio.sleep(0)
    await bus.publish("customer_identified", {"card_tail": "C3D4"})
    await asyncio.gather(streaming, asyncio.create_task(reads()))
    gate.close()
    assert [frame async for frame in frames] == []  # the closed gate ends the stream
    assert order == ["event: customer_identified", "the reads start"]
