"""``[process] cpu``: which CPU the agent's threads are kept to (the running agent's own
threads, read from /proc: tests/e2e/test_e2e_scan_event.py)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from register_agent.config import load_config
from register_agent.errors import ConfigError
from register_agent.runtime.cpu import chosen_cpu, keep_to_cpu


def test_one_is_the_cpu_the_agent_runs_on() -> None:
    assert chosen_cpu("one", {0, 1, 2, 3}, 2) == 2


def test_one_takes_the_highest_allowed_when_the_current_cpu_is_unknown_or_not_allowed() -> None:
    assert chosen_cpu("one", {0, 1, 2, 3}, None) == 3
    assert chosen_cpu("one", {2, 3}, 0) == 3


def test_all_and_a_till_with_one_cpu_leave_the_threads_be() -> None:
    assert chosen_cpu("all", {0, 1}, 0) is None
    assert chosen_cpu("one", {0}, 0) is None
    assert chosen_cpu(5, {5}, 5) is None


def test_a_named_cpu_is_taken_when_the_agent_may_run_there() -> None:
    assert chosen_cpu(0, {0, 1}, 1) == 0


def test_a_named_cpu_the_agent_may_not_use_is_refused_with_the_ones_it_may() -> None:
    with pytest.raises(ConfigError) as refused:
        chosen_cpu(7, {0, 1}, 0)
    assert "CPU 0, 1 only" in str(refused.value)
    assert '"one"' in str(refused.value)


def test_the_config_takes_one_all_or_a_number_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text("", encoding="utf-8")
    assert load_config(path).process.cpu == "one"
    for text, wanted in (('cpu = "all"', "all"), ("cpu = 1", 1)):
        path.write_text(f"[process]\n{text}\n", encoding="utf-8")
        assert load_config(path).process.cpu == wanted
    path.write_text('[process]\ncpu = "fast"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert "process.cpu" in str(refused.value)


def test_a_refused_affinity_is_a_warning_and_the_agent_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # a system call filter without sched_setaffinity (EPERM), or a container's
    def refused(pid: int, cpus: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "sched_setaffinity", refused)
    with caplog.at_level(logging.WARNING):
        assert keep_to_cpu("one") is None
    assert "sched_setaffinity" in caplog.text
    assert '[process] cpu = "all"' in caplog.text
