"""The series a fleet's rules and dashboard need beside the till's own (``metrics``): who
this till is (``register_agent_info{shop, till, version}``, from ``[fleet]``), its clock
against the Register API's, and the outbox's caps, so an alert can compare the outbox with
the caps this till was given rather than with a number written into the rules; beside the
caps, the backlog's lanes in use now (``outbox/backlog_room.py``).

Shop and till are the labels of one info series, not constant labels on every series: the
rules in monitoring/prometheus/ join them onto an alert (``group_left``), the usual way
for names an operator may change (a reload changes one series, not every series' identity).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from register_agent import __version__
from register_agent.config import AgentConfig
from register_agent.loyalty import server_clock


class FleetCollector(Collector):
    """Read on each scrape from the config in force (a reload may rename the till)."""

    def __init__(
        self, config: Callable[[], AgentConfig], backlog_lanes: Callable[[], int] | None = None
    ) -> None:
        self._config = config
        self._backlog_lanes = backlog_lanes

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        config = self._config()
        info = InfoMetricFamily(
            "register_agent", "This till: its shop and name ([fleet]) and the agent's version"
        )
        info.add_metric(
            [],
            {
                "shop": config.fleet.shop,
                "till": config.fleet.till or socket.gethostname(),
                "version": __version__,
                "api_version": config.api.version,
            },
        )
        yield info
        skew = server_clock.skew_s()
        if skew is not None:  # no series until the Register API has answered once
            yield GaugeMetricFamily(
                "register_agent_clock_skew_seconds",
                "This till's clock minus the Register API's (its Date header), at the last "
                "answer; positive: the till is ahead",
                value=skew,
            )
        yield GaugeMetricFamily(
            "register_agent_outbox_max_age_seconds",
            "[outbox] max_age_s: the oldest operation's age that raises an alert",
            value=config.outbox.max_age_s,
        )
        yield GaugeMetricFamily(
            "register_agent_outbox_max_pending",
            "[outbox] max_pending: the number of waiting operations that raises an alert",
            value=config.outbox.max_pending,
        )
        if self._backlog_lanes is not None:
            yield GaugeMetricFamily(
                "register_agent_outbox_backlog_lanes",
                "Backlog customers delivered side by side now: up to [outbox] concurrency, "
                "each lane kept while it adds to the drain",
                value=self._backlog_lanes(),
            )
