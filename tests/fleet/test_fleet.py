"""A fleet watched by a real Prometheus: 20 agents on this machine, each a ``register-agent
run`` process with its own state, ports and ``[fleet] shop``, against one sandbox Register API
in a process of its own; a Prometheus the test starts scrapes them every second with the
repository's rules loaded (only the alerts' ``for:`` shortened).

Six of the tills reach the sandbox through a proxy; when the proxy stops listening the
sandbox is down for exactly those six, and ``RegisterAgentApiUnreachable`` must fire for
exactly their shops. Every query of the Grafana dashboard must evaluate in that Prometheus,
and every series the rules and the dashboard name must be one the agents export.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from drivers.virtual_reader import inject
from tests.monitoring import grafana
from tests.support.agent_process import (
    JAN_CARD,
    ROOT,
    AgentProcess,
    Notifications,
    wait_until,
    write_credentials,
)
from tests.support.faultproxy import FaultProxy
from tests.support.ports import free_port
from tests.support.prometheus import RULES, Prometheus, fleet_rules

TILLS = 20
#: the tills whose way to the sandbox goes through the proxy that will stop
CUT_OFF = frozenset({2, 5, 8, 11, 14, 17})
TOKEN = "fleet-local-api-token"  # the local API's token of every till here
DASHBOARD = ROOT / "monitoring" / "grafana" / "register-agent.json"

pytestmark = pytest.mark.timeout(240)


@dataclass
class Till:
    index: int
    shop: str
    api_port: int
    metrics_port: int
    agent: AgentProcess
    notifications: Notifications
    reader_socket: Path

    def sell(self, sale_id: str) -> httpx.Response:
        return httpx.post(
            f"http://127.0.0.1:{self.api_port}/v1/sales",
            json={"sale_id": sale_id, "amount": "2.50", "customer_card": JAN_CARD},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )


@dataclass
class Fleet:
    tills: list[Till]
    proxy: FaultProxy
    prometheus: Prometheus


def start_sandbox(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with (directory / "sandbox.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "register_agent", "sandbox", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/_sandbox/ledger", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, 30, "the sandbox answers")
    return process, url


def start_till(directory: Path, index: int, base_url: str) -> Till:
    """A till as light as it gets: a virtual reader and a virtual printer."""
    directory.mkdir()
    (directory / "state").mkdir()
    api_port, metrics_port = free_port(), free_port()
    shop = f"shop-{index:02d}"
    config = directory / "config.toml"
    config.write_text(
        f"""
[api]
version = "v3"
base_url = "{base_url}"
loyalty_token_base_url = "{base_url}"
connect_timeout_s = 0.5
read_timeout_s = 2.0

[state]
directory = "{directory / "state"}"

[outbox]
backoff_base_s = 0.2
backoff_max_s = 0.5
unknown_delay_s = 0.2

[local_api]
listen = "127.0.0.1:{api_port}"
metrics_listen = "127.0.0.1:{metrics_port}"
token = "{TOKEN}"

[fleet]
shop = "{shop}"
till = "till-1"

[printer]
kind = "virtual"

[[readers]]
name = "counter"
kind = "virtual"
inject_socket = "{directory / "counter.sock"}"
""",
        encoding="utf-8",
    )
    credentials = write_credentials(
        directory / "credentials",
        {"api-key": "sandbox-v3-key", "loyalty-token-secret": "sandbox-token-secret"},
    )
    notifications = Notifications(directory / "notify.sock")
    agent = AgentProcess(
        config,
        notify=notifications.path,
        watchdog_usec=0,
        env={"CREDENTIALS_DIRECTORY": str(credentials), "XDG_RUNTIME_DIR": str(directory)},
        log=directory / "agent.log",
    )
    return Till(
        index, shop, api_port, metrics_port, agent, notifications, directory / "counter.sock"
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    directory = tmp_path_factory.mktemp("fleet")
    sandbox, url = start_sandbox(directory)
    port = int(url.rpartition(":")[2])
    proxy = FaultProxy("127.0.0.1", port)
    tills: list[Till] = []
    prometheus = None
    try:
        for index in range(1, TILLS + 1):
            base = proxy.url if index in CUT_OFF else url
            tills.append(start_till(directory / f"till-{index:02d}", index, base))
        for till in tills:
            till.notifications.wait_for("READY=1", timeout_s=120)
        rules = fleet_rules(directory / "rules.yml", alert_for="2s")
        targets = [f"127.0.0.1:{till.metrics_port}" for till in tills]
        prometheus = Prometheus(directory, targets, rules)
        yield Fleet(tills, proxy, prometheus)
    finally:
        if prometheus is not None:
            prometheus.stop()
        for till in tills:  # SIGTERM to all first: they stop side by side
            if till.agent.process.poll() is None:
                till.agent.signal(signal.SIGTERM)
        for till in tills:
            till.agent.stop(timeout_s=60)  # twenty stopping at once on a small machine
            till.notifications.close()
        proxy.close()
        sandbox.terminate()
        sandbox.wait(10)


def shops_of(alerts: list[dict[str, Any]]) -> set[str]:
    return {alert["labels"]["shop"] for alert in alerts}


def running(fleet: Fleet) -> list[Till]:
    """The tills still running (the tests run in any order; one of them stops a till)."""
    return [till for till in fleet.tills if till.agent.process.poll() is None]


def test_the_api_unreachable_alert_fires_for_exactly_the_tills_cut_off(fleet: Fleet) -> None:
    prometheus = fleet.prometheus
    tills = running(fleet)
    stopped = {till.shop for till in fleet.tills} - {till.shop for till in tills}
    every_shop = {till.shop for till in tills}
    wait_until(
        lambda: (
            {r["metric"]["shop"] for r in prometheus.query("register_agent:info")} == every_shop
        ),
        60,
        "Prometheus scrapes every running till with its shop label",
    )
    for till in tills:  # each till talks to the API once: all reachable
        assert till.sell(f"before-{till.index}").status_code == 200
    reachable = 'register_agent_api_state{state="reachable"} == 1'
    wait_until(lambda: len(prometheus.query(reachable)) == len(tills), 60, "all tills reachable")
    assert prometheus.alerts("RegisterAgentApiUnreachable") == []

    fleet.proxy.pause()  # the sandbox is down for the six tills behind the proxy
    cut_off = {till.shop for till in fleet.tills if till.index in CUT_OFF}
    for till in tills:  # a sale on every till: only the six cannot send theirs
        answer = till.sell(f"during-{till.index}")
        assert answer.status_code == 200, answer.text
    firing = wait_until(
        lambda: (
            (alerts := prometheus.alerts("RegisterAgentApiUnreachable"))
            and shops_of(alerts) >= cut_off
            and alerts
        ),
        60,
        "RegisterAgentApiUnreachable fires for the six tills cut off",
    )
    assert shops_of(firing) == cut_off
    assert all(alert["labels"]["till"] == "till-1" for alert in firing)
    assert all("Register API" in alert["annotations"]["description"] for alert in firing)
    # the other fourteen delivered their sale and are reachable, not merely not yet firing
    unreachable = prometheus.query("register_agent:api_unreachable == 1")
    assert {r["metric"]["shop"] for r in unreachable} == cut_off
    reachable_now = {r["metric"]["instance"] for r in prometheus.query(reachable)}
    assert len(reachable_now) == len(tills) - len(CUT_OFF)
    assert shops_of(prometheus.alerts("RegisterAgentNotReporting")) <= stopped

    fleet.proxy.resume()


def test_every_dashboard_query_evaluates_in_prometheus(fleet: Fleet) -> None:
    queries = grafana.queries(grafana.load())
    assert len(queries) > 10
    for query in queries:
        expr = _as_grafana_sends(query)
        if expr.startswith("label_values("):  # Grafana's own function: the series behind it
            expr = expr.removeprefix("label_values(").rpartition(",")[0]
        fleet.prometheus.query(expr)  # fails the test on an error in the expression
    health = fleet.prometheus.rule_health()
    assert health
    assert all(state == "ok" for state in health.values()), health


def test_every_series_the_rules_and_dashboard_name_is_exported(fleet: Fleet) -> None:
    text = RULES.read_text(encoding="utf-8") + DASHBOARD.read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![:\w])(register_agent_[a-z_]+)\b", text))

    def exported() -> set[str]:
        every = 'count by (__name__) ({__name__=~"register_agent_.+"})'
        return {sample["metric"]["__name__"] for sample in fleet.prometheus.query(every)}

    tills = running(fleet)
    inject(tills[-1].reader_socket, JAN_CARD.encode() + b"\r")  # the scans counter's first
    for till in tills:  # an answer of the API: the clock skew's first
        assert till.sell(f"series-{till.index}").status_code == 200
    # an attempt that fails, the API errors' counter's first: this test must not lean on
    # another having cut the proxy before it
    behind_proxy = next(till for till in tills if till.index in CUT_OFF)
    fleet.proxy.pause()
    try:
        assert behind_proxy.sell("series-cut-off").status_code == 200
        first_error = "register_agent_api_errors_total"
        wait_until(lambda: first_error in exported(), 30, "the failed attempt is scraped")
    finally:
        fleet.proxy.resume()

    wait_until(lambda: "register_agent_scans_total" in exported(), 30, "the scan is scraped")
    assert named <= exported(), f"named but not exported: {named - exported()}"
    # every till has heard the sandbox, on this machine's clock: no skew worth the name
    wait_until(
        lambda: len(fleet.prometheus.query("register_agent_clock_skew_seconds")) == len(tills),
        30,
        "every till's clock skew is scraped",
    )
    assert fleet.prometheus.query("abs(register_agent_clock_skew_seconds) > 5") == []


def test_a_till_that_stops_is_reported(fleet: Fleet) -> None:
    stopped = fleet.tills[0]
    stopped.agent.stop(timeout_s=30)
    firing = wait_until(
        lambda: fleet.prometheus.alerts("RegisterAgentNotReporting"),
        60,
        "RegisterAgentNotReporting fires for the stopped till",
    )
    assert shops_of(firing) == {stopped.shop}


def _as_grafana_sends(query: str) -> str:
    """The query with the dashboard's variables as Grafana fills them ("All" selected)."""
    return (
        query.replace("$__rate_interval", "1m")
        .replace('"$shop"', '".*"')
        .replace('"$till"', '".*"')
        .replace("$shop", ".*")
    )
