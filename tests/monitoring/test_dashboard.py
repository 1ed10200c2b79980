"""The fleet's Grafana dashboard against Grafana's own schema, offline (tests/monitoring/
grafana.py says how): every field in it is one Grafana knows, with a value of its type.
Its queries are evaluated in a real Prometheus by tests/fleet/test_fleet.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.monitoring import grafana

pytestmark = pytest.mark.timeout(60)

#: fields of Grafana's export format that its dashboard schema leaves out, on purpose:
#: ``__inputs`` is what the import screen asks for (the Prometheus data source), and a
#: query variable's ``definition`` is its query as Grafana's variable editor shows it
NOT_IN_THE_SCHEMA = {
    "/__inputs",
    "/templating/list[1]/definition",
    "/templating/list[2]/definition",
}


def test_every_field_of_the_dashboard_is_one_grafana_knows_with_a_value_of_its_kind() -> None:
    dashboard = grafana.load()
    assert set(grafana.unknown_fields(dashboard)) == NOT_IN_THE_SCHEMA
    assert grafana.wrong_values(dashboard) == []
    assert len(dashboard["panels"]) > 10


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(dashboard: dict[str, Any]) -> None:
        node = dashboard
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _rename(path: tuple[Any, ...], new: str) -> Callable[[dict[str, Any]], None]:
    def change(dashboard: dict[str, Any]) -> None:
        node = dashboard
        for key in path[:-1]:
            node = node[key]
        node[new] = node.pop(path[-1])

    return change


# mistakes Grafana would not load as meant, each as a change of the shipped dashboard
MISTAKES = {
    "a misspelt panel field": (_rename(("panels", 0, "targets"), "targtes"), "unknown"),
    "a misspelt query field": (_rename(("panels", 0, "targets", 0, "expr"), "exprr"), "unknown"),
    "a misspelt field option": (
        _set(("panels", 0, "fieldConfig", "defaults", "unitt"), "s"),
        "unknown",
    ),
    "a stat panel's graph mode": (_set(("panels", 0, "options", "graphMode"), "areaa"), "wrong"),
    "a panel's width in words": (_set(("panels", 0, "gridPos", "w"), "four"), "wrong"),
    "a variable's kind": (_set(("templating", "list", 1, "type"), "qurey"), "wrong"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_mistake_in_the_dashboard_is_found(mistake: str) -> None:
    change, kind = MISTAKES[mistake]
    dashboard = copy.deepcopy(grafana.load())
    change(dashboard)
    unknown = set(grafana.unknown_fields(dashboard)) - NOT_IN_THE_SCHEMA
    wrong = grafana.wrong_values(dashboard)
    assert (bool(unknown), bool(wrong)) == (kind == "unknown", kind == "wrong"), (unknown, wrong)


def test_the_queries_are_every_expression_and_query_variable() -> None:
    dashboard = grafana.load()
    found = grafana.queries(dashboard)
    targets = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", ())]
    assert found == [*targets, *(v["query"] for v in dashboard["templating"]["list"][1:])]
    # a panel inside a row and an annotation are Grafana's queries too
    row_query = "up"
    row = {"type": "row", "panels": [{"type": "stat", "targets": [{"expr": row_query}]}]}
    annotation = {"name": "restarts", "expr": "changes(process_start_time_seconds[5m]) > 0"}
    dashboard["panels"].append(row)
    dashboard["annotations"]["list"].append(annotation)
    assert sorted(grafana.queries(dashboard)) == sorted([*found, row_query, annotation["expr"]])
