"""A real Prometheus (Debian's ``prometheus``) for tests: its own data directory and port, a
config and rule files the test writes, started and stopped by the test; queried through its
HTTP API (``/api/v1/query``, ``/api/v1/alerts``, ``/api/v1/rules``).

``fleet_rules`` renders the repository's rules for a test: every alert's ``for:`` replaced
by a short one, which is the only change (the expressions are the shipped ones).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "monitoring" / "prometheus" / "register-agent.rules.yml"


def fleet_rules(destination: Path, *, alert_for: str) -> Path:
    """The shipped rules with every alert's ``for:`` set to ``alert_for``."""
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = alert_for
    destination.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    return destination


class Prometheus:
    """One ``prometheus`` process scraping ``targets`` every second, ``rules`` loaded."""

    def __init__(self, directory: Path, targets: Sequence[str], rules: Path) -> None:
        binary = shutil.which("prometheus")
        assert binary, (
            "prometheus is missing: install Debian's prometheus (scripts/system-packages.txt)"
        )
        config = {
            "global": {
                "scrape_interval": "1s",
                "evaluation_interval": "1s",
                "scrape_timeout": "900ms",
            },
            "rule_files": [str(rules)],
            "scrape_configs": [
                {"job_name": "register-agent", "static_configs": [{"targets": list(targets)}]}
            ],
        }
        config_file = directory / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = directory / "prometheus.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [binary, f"--config.file={config_file}",
                 f"--storage.tsdb.path={directory / 'data'}",
                 f"--web.listen-address={self.url.removeprefix('http://')}",
                 "--storage.tsdb.retention.time=1h", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.http = httpx.Client(base_url=self.url, timeout=5)
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")
            try:
                if self.http.get("/-/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus not ready within {timeout_s} s")

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result; an error in the expression fails the test."""
        answer = self.http.get("/api/v1/query", params={"query": expr}).json()
        assert answer["status"] == "success", (expr, answer)
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def alerts(self, name: str, state: str = "firing") -> list[dict[str, Any]]:
        alerts = self.http.get("/api/v1/alerts").json()["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == name and a["state"] == state]

    def rule_health(self) -> dict[str, str]:
        """Every loaded rule's name and its last evaluation's health ("ok", "err", ...)."""
        groups = self.http.get("/api/v1/rules").json()["data"]["groups"]
        return {
            rule["name"]: f"{rule['health']} {rule.get('lastError', '')}".strip()
            for group in groups
            for rule in group["rules"]
        }

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
