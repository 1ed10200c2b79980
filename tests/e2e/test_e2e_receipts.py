"""Receipts on a real till: the agent in its own process, printing over TCP to the virtual
printer in another process (``support/printer_process.py``). Paper running out in the middle
of a slip, receipts held while the printer was gone (the alert in ``GET /v1/status``,
``register-agent status`` and ``doctor``), the reprint of a receipt that never printed, and
the sale's date and time on the slip; read from the printer's bytes, the journal's rows and
the local API's answers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from drivers.virtual_printer import VirtualState
from tests.conftest import Sandbox
from tests.support.agent_harness import TOKEN, AgentProcess, wait_for
from tests.support.agent_process import local_api
from tests.support.fault_support import tune
from tests.support.ports import free_port
from tests.support.printer_process import PrinterProcess

#: the till's own time zone (the agent's TZ): 5:45 from UTC, so no other zone passes for it
TILL_ZONE = "Asia/Kathmandu"
#: a receipt that waited this long for the printer is held (short, for the test)
FRESHNESS_S = 2.0


@pytest.fixture
def agent(
    sandbox_clean: Sandbox,
    printer: PrinterProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[AgentProcess]:
    monkeypatch.setenv("TZ", TILL_ZONE)  # the agent's environment is this one's
    till = AgentProcess(tmp_path, sandbox_clean, "v3", receipt_wait_s=0, printer=printer)
    tune(till, "till", receipt_freshness_s=FRESHNESS_S)
    try:
        yield till.start()
    finally:
        till.close()


def jobs_of(agent: AgentProcess, sale_id: str) -> list[dict[str, Any]]:
    return [row for row in agent.journal_rows("print_jobs") if row["sale_id"] == sale_id]


def slips_of(printer: PrinterProcess, sale_id: str) -> list[Any]:
    return [job for job in printer.jobs() if f"Sale {sale_id}".encode() in job.data]


def printed_again(printer: PrinterProcess, sale_id: str) -> bool:
    """A second slip of the sale came out whole."""
    slips = slips_of(printer, sale_id)
    return len(slips) == 2 and slips[1].complete


def local_time(stamp: float) -> bytes:
    return datetime.fromtimestamp(stamp, ZoneInfo(TILL_ZONE)).strftime("%Y-%m-%d %H:%M").encode()


def cli(agent: AgentProcess, *command: str) -> subprocess.CompletedProcess[str]:
    """``register-agent --config CFG COMMAND`` beside the running agent."""
    env = {**os.environ, "REGISTER_AGENT_LOCAL_API__TOKEN": TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "register_agent", "--config", str(agent.config_path), *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


def test_paper_out_mid_receipt_is_reported_and_the_receipt_printed_again_whole(
    agent: AgentProcess, printer: PrinterProcess
) -> None:
    agent.sell("warm", "1.00").raise_for_status()
    wait_for(printer.printed, 10, "the first receipt")
    printer.run_out_of_paper_after(150)  # the roll ends 150 bytes into the next slip

    agent.sell("torn", "9.99").raise_for_status()
    # its head came out, the rest did not
    (torn,) = wait_for(lambda: [j for j in slips_of(printer, "torn") if j.held], 10, "torn")
    assert torn.printed
    wait_for(lambda: jobs_of(agent, "torn")[0]["attempts"], 10, "the agent's attempt")
    (row,) = jobs_of(agent, "torn")
    assert row["state"] == "pending", row  # not printed: it is printed again
    assert row["printed_at"] is None
    wait_for(lambda: agent.status()["printer"].startswith("paper out"), 10, "status: paper out")
    told = cli(agent, "status")
    assert told.returncode == 1, told.stdout + told.stderr
    assert "printer: paper out" in told.stdout

    printer.state = VirtualState.OK  # a new roll
    wait_for(lambda: printed_again(printer, "torn"), 20, "the slip printed again")
    first, again = slips_of(printer, "torn")
    assert again.complete
    assert again.data == first.data  # the whole slip, as it was meant the first time
    assert b"COPY" not in again.data
    # the slip is on paper before the agent has heard the printer's answer and written it
    wait_for(lambda: jobs_of(agent, "torn")[0]["printed_at"], 10, "the journal's printed slip")
    (row,) = jobs_of(agent, "torn")
    assert (row["state"], row["copy"], row["attempts"]) == ("printed", 0, 2)
    wait_for(lambda: agent.status()["printer"].startswith("online"), 10, "status: online")


def test_a_paper_out_answer_on_the_jobs_connection_holds_the_receipt_back(
    agent: AgentProcess, printer: PrinterProcess
) -> None:
    agent.sell("ready", "1.00").raise_for_status()
    wait_for(printer.printed, 10, "the first receipt")  # the agent last saw it ready
    printer.state = VirtualState.PAPER_OUT  # the roll ends between two sales

    agent.sell("no-roll", "7.25").raise_for_status()
    # the agent asks the status on the slip's own connection: paper out, so no slip is sent
    wait_for(lambda: agent.status()["printer"].startswith("paper out"), 10, "status: paper out")
    wait_for(lambda: jobs_of(agent, "no-roll")[0]["attempts"], 10, "the agent's attempt")
    assert slips_of(printer, "no-roll") == []  # not a byte of it in the printer's buffer
    assert printer.control("jobs").endswith("held_bytes 0")
    (row,) = jobs_of(agent, "no-roll")
    assert (row["state"], row["printed_at"]) == ("pending", None)

    printer.state = VirtualState.OK  # a new roll
    wait_for(lambda: [j for j in slips_of(printer, "no-roll") if j.complete], 20, "the slip")
    (slip,) = slips_of(printer, "no-roll")  # once, whole
    assert slip.complete
    assert b"7,25" in slip.data or b"7.25" in slip.data


def test_held_receipts_raise_an_alert_and_their_reprint_is_the_original(
    agent: AgentProcess, printer: PrinterProcess
) -> None:
    printer.state = VirtualState.OFFLINE  # the printer is gone
    agent.sell("late", "4.50").raise_for_status()
    wait_for(lambda: jobs_of(agent, "late")[0]["state"] == "held", 15, "the receipt held")

    alerts = agent.status()["alerts"]
    assert any("late" in alert and "reprint" in alert for alert in alerts), alerts
    told = cli(agent, "status")
    assert told.returncode == 1
    assert "alert: 1 receipt was not printed" in told.stdout, told.stdout
    doctor = cli(agent, "doctor")
    assert "FAIL  receipts: 1 receipt was not printed" in doctor.stdout, doctor.stdout

    # the POS asks for it while the printer is still gone: nothing printed, nothing copied
    answer = agent.http.post("/v1/sales/late/reprint").raise_for_status().json()
    assert "original" in answer["message"], answer
    (row,) = jobs_of(agent, "late")  # the original alone: no copy of it queued
    # waiting again (held again, should the printer stay gone past the freshness window)
    assert (row["copy"], row["printed_at"]) == (0, None)
    assert row["state"] in ("pending", "held"), row

    printer.state = VirtualState.OK
    agent.http.post("/v1/sales/late/reprint").raise_for_status()  # the cashier asks again
    wait_for(lambda: [j for j in slips_of(printer, "late") if j.complete], 20, "the receipt")
    (slip,) = slips_of(printer, "late")
    assert b"COPY" not in slip.data
    (sale,) = [s for s in agent.journal_rows("sales") if s["sale_id"] == "late"]
    assert local_time(sale["created_at"]) in slip.data  # the sale's time, the till's zone
    wait_for(lambda: jobs_of(agent, "late")[0]["printed_at"], 10, "the journal's printed slip")
    (row,) = jobs_of(agent, "late")
    assert (row["copy"], row["state"]) == (0, "printed")
    assert row["printed_at"] is not None
    assert agent.status()["alerts"] == []

    # a reprint of a receipt that did print is a copy, with the sale's time and its own
    agent.http.post("/v1/sales/late/reprint").raise_for_status()
    wait_for(lambda: printed_again(printer, "late"), 20, "the copy")
    copy = slips_of(printer, "late")[1].data
    (_, copied) = jobs_of(agent, "late")
    assert copied["copy"] == 1
    assert b"*** COPY ***" in copy
    assert re.search(rb"Sale late +" + local_time(sale["created_at"]) + b"\n", copy)
    assert re.search(rb"Copy +" + local_time(copied["created_at"]) + b"\n", copy)


def test_run_sandbox_shows_each_receipt_as_text_with_its_date(tmp_path: Path) -> None:
    """``make run``: the banner names the receipts' folder, the log names each receipt's
    file, and the file reads like the slip, with the sale's date and time."""
    config = tmp_path / "config.toml"
    config.write_text('[local_api]\nmetrics_listen = ""\n', encoding="utf-8")
    (tmp_path / "run").mkdir(mode=0o700)
    state, log, port = tmp_path / "state", tmp_path / "agent.log", free_port()
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path / "run"), "PYTHONUNBUFFERED": "1"}
    env["TZ"] = TILL_ZONE
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "register_agent", "--config", str(config), "run",
             "--sandbox", "--sandbox-port", "0", "--state-dir", str(state),
             "--listen", f"127.0.0.1:{port}"],
            stdout=output, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        folder = state / "receipts"
        wait_for(lambda: f"receipts, as text:    {folder}" in log.read_text(), 30, "banner")
        token = (state / "local-api-token").read_text(encoding="utf-8").strip()
        with local_api(port, token) as pos:
            pos.post("/v1/sales", json={"sale_id": "1", "amount": "12.50"}).raise_for_status()
        receipt = wait_for(lambda: sorted(folder.glob("receipt-*.txt")), 15, "a receipt")[0]
        wait_for(lambda: str(receipt) in log.read_text(), 5, "the log line naming the file")
    finally:
        process.terminate()
        process.wait(15)
    sold = datetime.fromtimestamp(time.time(), ZoneInfo(TILL_ZONE)).strftime("%Y-%m-%d")
    text = receipt.read_text(encoding="utf-8")
    assert re.search(rf"^Sale 1 +{sold} \d\d:\d\d$", text, re.M), text
    assert re.search(r"^Total +€12\.50$", text, re.M), text
    assert "[QR code: http" in text  # a sale without a card: the QR to collect the points
    assert "\x1b" not in text
