"""The fleet's Grafana dashboard (monitoring/grafana/register-agent.json) as Grafana's own
schema reads it, and the PromQL queries in it: used by tests/monitoring/test_dashboard.py
(offline: the schema) and tests/fleet/test_fleet.py (each query in a real Prometheus).

Grafana is not in Debian's registry; its schema is, as Python classes generated from
Grafana's schemas, in PyPI's grafana-foundation-sdk. Its ``Dashboard.from_json`` keeps the
fields the schema knows and drops the others without a word, and takes any value: so a
dashboard is read, written back, and compared with what it was (a field the schema does not
know is one Grafana ignores: a misspelt name), and every value kept is checked against the
type the schema gives it (an enum's names, numbers, strings).
"""

from __future__ import annotations

import enum
import json
import typing
from pathlib import Path

from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

DASHBOARD = Path(__file__).resolve().parents[2] / "monitoring" / "grafana" / "register-agent.json"

# the panel and query kinds (stat, timeseries, prometheus, ...) with their own options
plugins.register_default_plugins()


def load(path: Path = DASHBOARD) -> dict[str, typing.Any]:
    loaded: dict[str, typing.Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def queries(dashboard: dict[str, typing.Any]) -> list[str]:
    """Every PromQL query Grafana sends for the dashboard: each ``expr`` at any depth (the
    panels' targets, panels inside rows, annotations) and the query variables'."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                found.append(node["expr"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(dashboard)
    for variable in dashboard.get("templating", {}).get("list", ()):
        if variable.get("type") == "query":
            query = variable["query"]
            found.append(query if isinstance(query, str) else query["query"])
    return found


def unknown_fields(dashboard: dict[str, typing.Any]) -> list[str]:
    """The paths of the fields the schema does not know (dropped when read)."""
    written = json.loads(json.dumps(Dashboard.from_json(dashboard), cls=JSONEncoder))
    return _dropped(dashboard, written, "")


def _dropped(before: object, after: object, path: str) -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            lost
            for key, value in before.items()
            for lost in (
                _dropped(value, after[key], f"{path}/{key}") if key in after else [f"{path}/{key}"]
            )
        ]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            lost
            for i, pair in enumerate(zip(before, after, strict=True))
            for lost in _dropped(*pair, f"{path}[{i}]")
        ]
    return []


def wrong_values(dashboard: dict[str, typing.Any]) -> list[str]:
    """Each value the schema reads whose type is not the one it gives that field."""
    return _model(Dashboard.from_json(dashboard), "dashboard")


def _model(obj: object, path: str) -> list[str]:
    if type(obj).__module__.split(".")[0] != "grafana_foundation_sdk":
        return []  # a plain dict or list: a field of free form (a panel kind's options)
    return [
        problem
        for name, hint in typing.get_type_hints(type(obj)).items()
        if not name.startswith("_")
        for problem in _check(getattr(obj, name, None), hint, f"{path}.{name}")
    ]


def _check(value: object, hint: typing.Any, path: str) -> list[str]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return []
        tried = [_check(value, arg, path) for arg in args if arg is not type(None)]
        return [] if any(not problems for problems in tried) else tried[0]
    if origin is list and isinstance(value, list):
        item = args[0] if args else typing.Any
        return [p for i, v in enumerate(value) for p in _check(v, item, f"{path}[{i}]")]
    expected = _expected(hint, origin, args)
    if expected is None or type(value).__module__.startswith("grafana_foundation_sdk."):
        return _model(value, path)  # any value, or one of the schema's classes: its fields
    right, what = expected
    return [] if right(value) else [f"{path}: {value!r} is {what}"]


#: JSON's kinds of value as the schema's annotations name them (a bool is no number)
PRIMITIVES: dict[object, tuple[typing.Callable[[object], bool], str]] = {
    float: (lambda v: isinstance(v, int | float) and not isinstance(v, bool), "no number"),
    int: (lambda v: isinstance(v, int) and not isinstance(v, bool), "no integer"),
    str: (lambda v: isinstance(v, str), "no string"),
    bool: (lambda v: isinstance(v, bool), "no boolean"),
}


def _expected(
    hint: typing.Any, origin: object, args: tuple[object, ...]
) -> tuple[typing.Callable[[object], bool], str] | None:
    """What a value of ``hint`` must be, and how a wrong one is described."""
    if origin is typing.Literal:
        return (lambda v: v in args), f"none of {list(args)}"
    if origin in (list, dict):
        return (lambda v: isinstance(v, origin)), f"no {origin.__name__}"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        # from_json leaves an enum's value as the JSON string it read
        names = [member.value for member in hint]
        return (lambda v: isinstance(v, hint) or v in names), f"none of {names}"
    if hint in PRIMITIVES:
        return PRIMITIVES[hint]
    if isinstance(hint, type) and hint is not object:
        return (lambda v: isinstance(v, hint)), f"no {hint.__name__}"
    return None
