"""What the pass-through reports outside the running agent: the figures it leaves in the
state directory, read back by ``doctor`` and the status ticket; ``doctor``'s verdict on a
setting the relay cannot work with."""

from __future__ import annotations

from pathlib import Path

import pytest

from register_agent.commands.doctor.passthrough_check import passthrough_check
from register_agent.config import AgentConfig
from register_agent.passthrough.figures import PassthroughCounters, figures_line, saved_figures


def _config(state: Path, **passthrough: object) -> AgentConfig:
    printer = passthrough.pop("printer", {"kind": "network", "host": "192.0.2.7"})
    return AgentConfig.model_validate(
        {
            "state": {"directory": str(state)},
            "printer": printer,
            "passthrough": {"enabled": True, **passthrough},
        }
    )


def test_the_counted_jobs_are_left_for_doctor_and_the_ticket(tmp_path: Path) -> None:
    counters = PassthroughCounters(tmp_path)
    for reason in (None, None, "no_total", "copy", "no_total"):
        counters.job_done(reason)
    counters.flush()  # written on a thread of its own otherwise

    figures = saved_figures(tmp_path)
    assert figures == counters.figures()
    assert figures is not None
    assert figures_line(figures) == (
        "5 jobs relayed, 2 with a loyalty block, 3 untouched (copy 1, no_total 2)"
    )
    check = passthrough_check(_config(tmp_path))
    assert check is not None
    assert check.verdict == "PASS"
    assert figures_line(figures) in check.detail


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"printer": {"kind": "file", "path": "receipts.bin"}}, "network or serial printer only"),
        ({"serial_device": "/dev/ttyUSB-none"}, "does not exist"),
    ],
)
def test_doctor_names_a_setting_the_relay_cannot_work_with(
    tmp_path: Path, settings: dict[str, object], words: str
) -> None:
    check = passthrough_check(_config(tmp_path, **settings))
    assert check is not None
    assert check.verdict == "FAIL"
    assert words in check.detail
    assert check.fix


def test_doctor_says_when_no_receipt_got_a_block(tmp_path: Path) -> None:
    counters = PassthroughCounters(tmp_path)
    counters.job_done("no_total")
    counters.flush()
    check = passthrough_check(_config(tmp_path))
    assert check is not None
    assert check.verdict == "FAIL"
    assert "passthrough-test" in check.fix


def test_doctor_is_silent_when_the_pass_through_is_off(tmp_path: Path) -> None:
    assert (
        passthrough_check(AgentConfig.model_validate({"state": {"directory": str(tmp_path)}}))
        is None
    )
