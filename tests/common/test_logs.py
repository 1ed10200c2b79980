"""Log lines: JSON for journald, text on a terminal, the context fields, and the masks that
keep secrets and whole card values out whatever the calling code logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from register_agent.common import logs

SECRET = "test-logs-secret-key-9f8e7d"
CARD = "TESTLOGS12345678"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger through ``logs.configure`` into a buffer; the old handlers after."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    buffer = io.StringIO()
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved:
        root.addHandler(handler)
    root.setLevel(level)


def _records(buffer: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_json_line_names_time_level_logger_message_and_context(captured: io.StringIO) -> None:
    logs.configure("json", logging.DEBUG, stream=captured)
    log = logging.getLogger("register_agent.test")
    with logs.log_context(sale_id="S-9", device="counter"):
        log.debug("sale %s paid", "S-9", extra={"operation_id": "op-1"})
    log.info("outside")
    inside, outside = _records(captured)
    assert inside["level"] == "debug"
    assert inside["logger"] == "register_agent.test"
    assert inside["message"] == "sale S-9 paid"
    assert (inside["sale_id"], inside["operation_id"], inside["device"]) == (
        "S-9",
        "op-1",
        "counter",
    )
    assert inside["time"].endswith("+00:00")
    assert "sale_id" not in outside


def test_context_follows_a_task_and_stays_inside_it(captured: io.StringIO) -> None:
    logs.configure("json", logging.INFO, stream=captured)
    log = logging.getLogger("register_agent.test")

    async def work() -> None:
        log.info("in the task")

    async def main() -> None:
        await asyncio.gather(logs.in_log_context(work(), operation_id="op-7"))
        log.info("after")

    asyncio.run(main())
    task, after = _records(captured)
    assert task["operation_id"] == "op-7"
    assert "operation_id" not in after


def test_secrets_and_whole_cards_are_masked_even_in_tracebacks(captured: io.StringIO) -> None:
    logs.configure("json", logging.INFO, secrets=[SECRET, None, "short"], stream=captured)
    logs.remember_card(CARD)
    log = logging.getLogger("register_agent.test")
    try:
        _refuse()
    except ValueError:
        log.exception("careless %s %s", SECRET, CARD, extra={"device": CARD})
    text = captured.getvalue()
    assert SECRET not in text
    assert CARD not in text
    (record,) = _records(captured)
    assert record["message"] == "careless [secret] …5678"
    assert "refused key [secret] for card …5678" in record["exception"]
    assert record["device"] == "…5678"


def _refuse() -> None:
    raise ValueError(f"refused key {SECRET} for card {CARD}")


def test_text_lines_carry_the_context_and_the_masks(captured: io.StringIO) -> None:
    logs.configure("text", logging.INFO, secrets=[SECRET], stream=captured)
    with logs.log_context(sale_id="S-3"):
        logging.getLogger("register_agent.test").warning("key %s", SECRET)
    line = captured.getvalue().strip()
    assert line.endswith("WARNING register_agent.test: key [secret] [sale=S-3]")


def test_journald_is_recognised_by_its_stream_not_just_the_variable(tmp_path: Path) -> None:
    with (tmp_path / "journal").open("w") as journal, (tmp_path / "other").open("w") as other:
        status = os.fstat(journal.fileno())
        env = {"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}
        assert logs.writes_to_journal(journal, env)
        assert not logs.writes_to_journal(other, env)  # inherited by a child, output elsewhere
        assert not logs.writes_to_journal(journal, {})
        assert not logs.writes_to_journal(journal, {"JOURNAL_STREAM": "garbage"})


def test_auto_means_json_with_a_priority_prefix_for_journald_without_its_socket(
    tmp_path: Path, captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """journald's stream but not its native socket (test_journald.py: with it)."""
    with (tmp_path / "journal").open("w+") as journal:
        status = os.fstat(journal.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{status.st_dev}:{status.st_ino}")
        logs.configure("auto", logging.INFO, stream=journal, journal_socket=tmp_path / "none")
        logging.getLogger("register_agent.test").error("printer gone")
        journal.seek(0)
        line = journal.read().strip()
    assert line.startswith("<3>{")
    assert json.loads(line[3:])["message"] == "printer gone"
    monkeypatch.delenv("JOURNAL_STREAM")
    logs.configure("auto", logging.INFO, stream=captured)
    logging.getLogger("register_agent.test").info("on a terminal")
    assert " INFO register_agent.test: on a terminal" in captured.getvalue()


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_escpos_connection_chatter_counts_as_debug(captured: io.StringIO, level: int) -> None:
    logs.configure("json", level, stream=captured)
    path = os.path.join("site-packages", "escpos", "printer.py")
    record = logging.LogRecord("root", logging.INFO, path, 1, "Network printer enabled", (), None)
    logging.getLogger().handle(record)
    logging.getLogger().info("the agent's own root line")
    levels = [(line["level"], line["message"]) for line in _records(captured)]
    expected = [("info", "the agent's own root line")]
    if level == logging.DEBUG:
        expected.insert(0, ("debug", "Network printer enabled"))
    assert levels == expected


def test_lines_follow_stderr_when_a_command_swapped_it_and_closed_the_old_one(
    monkeypatch: pytest.MonkeyPatch, captured: io.StringIO
) -> None:
    # a command run in-process (the demo, a test calling main()) configures the logs while
    # stderr is a stream it closes afterwards; later lines must reach today's stderr
    swapped = io.StringIO()
    monkeypatch.setattr("sys.stderr", swapped)
    logs.configure("text")
    swapped.close()
    today = io.StringIO()
    monkeypatch.setattr("sys.stderr", today)
    logging.getLogger("register_agent.test").warning("after the swap")
    assert "Logging error" not in today.getvalue()
    assert "WARNING register_agent.test: after the swap" in today.getvalue()
