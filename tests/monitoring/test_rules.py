"""The fleet's Prometheus rules (monitoring/prometheus/) as Debian's promtool reads them:
the file checks, every alert has a test file of its own in which it fires on the series
that should raise it and stays silent otherwise (promtool test rules), and every series
the rules name is one the agent exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "monitoring" / "prometheus" / "register-agent.rules.yml"
TESTS = RULES.parent / "tests"
#: where the agent's series are named
EXPORTERS = [
    ROOT / "register_agent" / "runtime" / "metrics.py",
    ROOT / "register_agent" / "runtime" / "fleet_metrics.py",
]

pytestmark = pytest.mark.timeout(60)


def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: install Debian's prometheus (scripts/system-packages.txt)"
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, timeout=50, check=False, cwd=cwd
    )


def alerts() -> dict[str, dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def test_promtool_checks_the_rules() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_its_own_test_file_and_each_passes() -> None:
    files = sorted(TESTS.glob("*.test.yml"))
    tested = {
        alert
        for path in files
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for case in test.get("alert_rule_test", ())
        if case["exp_alerts"]  # a test that only expects silence proves nothing fires
        for alert in [case["alertname"]]
    }
    assert set(alerts()) <= tested, f"alerts without a firing test: {set(alerts()) - tested}"
    result = promtool("test", "rules", *(path.name for path in files), cwd=TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files)


def test_each_alert_says_what_happened_and_what_to_do() -> None:
    for name, rule in alerts().items():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        assert annotations.get("summary"), name
        assert len(str(annotations.get("description", ""))) > 80, name
        assert {"shop", "till"} <= set(re.findall(r"\$labels\.(\w+)", str(annotations))), name
        assert rule["labels"]["severity"] in ("warning", "critical"), name  # type: ignore[index]


def test_the_rules_name_only_series_the_agent_exports() -> None:
    exported = set()
    for path in EXPORTERS:
        exported |= set(re.findall(r'"(register_agent_\w+)"', path.read_text(encoding="utf-8")))
    exported |= {f"{name}_info" for name in exported} | {"register_agent_info"}
    text = RULES.read_text(encoding="utf-8")
    found = re.findall(r"(?<![:\w])(register_agent_[a-z_]+)\b", text)  # records left out
    # counters and histograms are exposed with their suffix (tests/fleet checks the real ones)
    used = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in found}
    assert used, "no series found in the rules"
    assert used <= exported, f"not exported by the agent: {used - exported}"
