"""The fleet's own series: who the till is (``[fleet]`` as ``register_agent_info``), its
clock against the Register API's ``Date`` header (through the real client's response hook,
answers scripted with httpx's MockTransport), and the outbox's caps."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import TypeAdapter

from register_agent.config import AgentConfig, FleetConfig, OutboxConfig
from register_agent.loyalty import server_clock
from register_agent.loyalty.http import RegisterHttp, parse_with
from register_agent.loyalty.retries import Deadline
from register_agent.runtime.fleet_metrics import FleetCollector
from tests.support.loyalty_support import api_config

pytestmark = pytest.mark.anyio


def exposition(config: AgentConfig) -> str:
    registry = CollectorRegistry()
    registry.register(FleetCollector(lambda: config))
    return generate_latest(registry).decode()


def test_the_till_names_itself_from_the_fleet_section() -> None:
    config = AgentConfig(
        fleet=FleetConfig(shop="Utrecht Centrum", till="till-1"),
        outbox=OutboxConfig(max_age_s=7200, max_pending=50),
    )
    text = exposition(config)
    assert 'register_agent_info{api_version="v3",shop="Utrecht Centrum",till="till-1"' in text
    assert "register_agent_outbox_max_age_seconds 7200.0" in text
    assert "register_agent_outbox_max_pending 50.0" in text


def test_an_unnamed_till_is_its_host_name() -> None:
    assert f'till="{socket.gethostname()}"' in exposition(AgentConfig())


@pytest.mark.parametrize("bad", ['say "hi"', "back\\slash", "two\nlines", "x" * 65])
def test_a_name_a_query_could_not_quote_is_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(ValueError, match="at most 64 printable characters without quotes"):
        FleetConfig(shop=bad)


async def test_the_clock_skew_follows_the_register_apis_date_header() -> None:
    behind = datetime.now(UTC) - timedelta(minutes=5)  # the server's clock: the till is ahead

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"data": {}, "meta": {}},
            headers={"Date": format_datetime(behind, usegmt=True)},
        )

    http = RegisterHttp(api_config("v3"), transport=httpx.MockTransport(answer))
    try:
        await http.get("", parse_with(TypeAdapter(dict)), deadline=Deadline.after(10))
    finally:
        await http.aclose()
    skew = server_clock.skew_s()
    assert skew is not None
    assert 295 < skew < 310
    exported = re.search(
        r"^register_agent_clock_skew_seconds (\S+)$", exposition(AgentConfig()), re.M
    )
    assert exported is not None
    assert float(exported.group(1)) == skew


def test_an_answer_without_a_usable_date_changes_nothing() -> None:
    server_clock.observe(
        httpx.Response(200, headers={"Date": format_datetime(datetime.now(UTC), True)})
    )
    before = server_clock.skew_s()
    server_clock.observe(httpx.Response(200))
    server_clock.observe(httpx.Response(200, headers={"Date": "yesterday-ish"}))
    assert server_clock.skew_s() == before


def test_each_answer_is_measured_by_its_own_date_and_arrival() -> None:
    noon = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(noon, usegmt=True)
    server_clock.observe(
        httpx.Response(200, headers={"Date": header}), lambda: noon.timestamp() + 5
    )
    assert server_clock.skew_s() == 5
    server_clock.observe(
        httpx.Response(200, headers={"Date": header}), lambda: noon.timestamp() + 7
    )
    assert server_clock.skew_s() == 7
    next_second = format_datetime(noon + timedelta(seconds=1), usegmt=True)
    server_clock.observe(
        httpx.Response(200, headers={"Date": next_second}), lambda: noon.timestamp() + 7
    )
    assert server_clock.skew_s() == 6
