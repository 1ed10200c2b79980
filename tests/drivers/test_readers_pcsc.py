"""A contactless reader on PC/SC, on the real agent: a pcscd of the test's own with vpcd's
virtual reader, a virtual card answering GET DATA, the agent in its own process. Each step
is read from the agent's answers: the customer bound, the scans counted by its metrics,
the reader's line in its status, and doctor's check.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from drivers.virtual_printer import VirtualPrinter
from tests.conftest import Sandbox
from tests.support.agent_process import (
    ROOT,
    TOKEN_SECRET,
    AgentProcess,
    Notifications,
    local_api,
    running_agent,
    wait_until,
    write_config,
    write_credentials,
)
from tests.support.pcsc import READER_NAME, Pcscd, VirtualCard, missing
from tests.support.ports import free_port

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(missing() is not None, reason=f"no PC/SC here: {missing()}"),
]

TOKEN = "pcsc-local-api-token"
#: the seed's NFC card (a 7-byte UID), member 7734
NFC_UID = "04A2241A6B5E80"
#: seconds a removed card must stay away before it counts again ([scans] debounce_s)
DEBOUNCE_S = 0.5


@dataclass
class Till:
    agent: AgentProcess
    api: httpx.Client
    metrics_port: int
    pcscd: Pcscd
    card: VirtualCard
    config: Path

    def scans(self, outcome: str = "accepted") -> float:
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        pattern = rf'register_agent_scans_total\{{[^}}]*outcome="{outcome}"[^}}]*\}} (\S+)'
        found = re.search(pattern, text)
        return float(found.group(1)) if found else 0.0

    def reader_line(self) -> str:
        (line,) = self.api.get("/v1/status").raise_for_status().json()["readers"]
        return str(line)

    def wait_reader(self, starts: str, what: str) -> str:
        return str(wait_until(lambda: _if(self.reader_line(), starts), 15, what))

    def present(self) -> None:
        self.card.present(NFC_UID)

    def fresh(self) -> None:
        """Each test starts here, whatever ran before it: pcscd up with the reader, no card
        on it for longer than the debounce, nobody bound."""
        self.card.remove()
        if self.pcscd.process is None or not self.pcscd.with_reader:
            self.pcscd.stop()
            self.pcscd.start()
        self.wait_reader("nfc: ok", "the reader up")
        time.sleep(DEBOUNCE_S + 0.3)
        self.api.delete("/v1/customer").raise_for_status()

    def customer_bound(self) -> dict[str, object]:
        answer = wait_until(
            lambda: (r := self.api.get("/v1/customer")).status_code == 200 and r.json(),
            10,
            "the card's customer bound",
        )
        assert isinstance(answer, dict)
        return answer


def _if(line: str, starts: str) -> str | None:
    return line if line.startswith(starts) else None


@pytest.fixture(scope="module")
def till(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Till]:
    sandbox.reset()
    directory = tmp_path_factory.mktemp("pcsc")
    pcscd = Pcscd(directory)
    pcscd.start()
    card = VirtualCard(pcscd.card_port)
    credentials = write_credentials(
        directory / "credentials",
        {"api-key": sandbox.v3_key, "loyalty-token-secret": TOKEN_SECRET, "local-api-token": TOKEN},
    )
    port, metrics_port = free_port(), free_port()
    with VirtualPrinter() as printer:
        config = write_config(
            directory,
            base_url=sandbox.url,
            printer_port=printer.address[1],
            api_port=port,
            extra=(
                f"[scans]\ndebounce_s = {DEBOUNCE_S}\n"
                '[[readers]]\nkind = "pcsc"\nname = "nfc"\nreader = "virtual pcd 00 00"\n'
            ),
        )
        text = config.read_text(encoding="utf-8")
        text = text.replace('metrics_listen = ""', f'metrics_listen = "127.0.0.1:{metrics_port}"')
        config.write_text(text, encoding="utf-8")
        notifications = Notifications(directory / "notify")
        env = {"CREDENTIALS_DIRECTORY": str(credentials), **pcscd.env}
        try:
            with (
                running_agent(
                    config,
                    notifications,
                    watchdog_usec=10_000_000,
                    env=env,
                    log=directory / "agent.log",
                ) as agent,
                local_api(port, TOKEN) as api,
            ):
                notifications.wait_for("READY=1", timeout_s=20)
                yield Till(agent, api, metrics_port, pcscd, card, config)
                assert agent.process.poll() is None, "the agent ended"
                assert NFC_UID not in agent.output(), "a full UID in the agent's log"
                assert agent.stop() == 0
        finally:
            card.remove()
            pcscd.stop()
            notifications.close()


def test_a_card_presented_is_one_scan_however_long_it_lies_there(till: Till) -> None:
    till.fresh()
    before = till.scans()
    till.present()
    customer = till.customer_bound()
    assert customer["card_tail"] == NFC_UID[-4:]
    assert till.scans() == before + 1
    till.api.delete("/v1/customer").raise_for_status()
    repeats = till.scans("repeat")
    time.sleep(3 * DEBOUNCE_S + 1)  # several of pcscd's polls with the card still there
    assert till.api.get("/v1/customer").status_code == 204
    assert (till.scans(), till.scans("repeat")) == (before + 1, repeats)


def test_presented_again_after_the_debounce_is_a_second_scan(till: Till) -> None:
    till.fresh()
    before = till.scans()
    till.present()
    till.customer_bound()
    till.card.remove()
    time.sleep(DEBOUNCE_S + 0.5)  # away for longer than the debounce
    till.api.delete("/v1/customer").raise_for_status()
    till.present()
    till.customer_bound()
    assert till.scans() == before + 2


def test_pcscd_restarted_is_waited_for_and_read_again(till: Till) -> None:
    till.fresh()
    till.pcscd.stop(signal.SIGKILL)
    line = till.wait_reader("nfc: down", "the reader down with pcscd")
    assert "pcscd" in line
    before = till.scans()
    till.pcscd.start()
    till.wait_reader("nfc: ok", "the reader up again after pcscd's restart")
    till.present()
    till.customer_bound()
    assert till.scans() == before + 1


def test_a_card_lying_there_while_pcscd_restarts_is_no_second_scan(till: Till) -> None:
    """Its customer, already served, must not be bound to the next sale again."""
    till.fresh()
    till.present()
    till.customer_bound()
    till.api.delete("/v1/customer").raise_for_status()
    before = till.scans()
    till.pcscd.stop(signal.SIGKILL)
    till.wait_reader("nfc: down", "the reader down with pcscd")
    till.pcscd.start()  # the card is still on the reader
    till.wait_reader("nfc: ok", "the reader up again after pcscd's restart")
    time.sleep(3 * DEBOUNCE_S + 1)  # several of pcscd's polls with the card there
    assert till.api.get("/v1/customer").status_code == 204
    assert till.scans() == before
    till.card.remove()
    time.sleep(DEBOUNCE_S + 0.5)
    till.present()  # taken away and presented again: that is a scan
    till.customer_bound()
    assert till.scans() == before + 1


def test_the_reader_removed_and_added_again(till: Till) -> None:
    """vpcd's reader lives as long as its pcscd (a reader of reader.conf cannot come or go
    while pcscd runs): unplugged is a pcscd without it, plugged in again one with it."""
    till.fresh()
    till.pcscd.stop()
    till.pcscd.start(with_reader=False)
    line = till.wait_reader("nfc: down (waiting for reader", "the reader waited for")
    assert "pcscd has: none" in line
    assert _doctor(till)[1] == "fail"
    till.pcscd.stop()
    till.pcscd.start()
    till.wait_reader("nfc: ok", "the reader back")
    assert _doctor(till) == (READER_NAME, "ok")
    before = till.scans()
    till.present()
    till.customer_bound()
    assert till.scans() == before + 1


def _doctor(till: Till) -> tuple[str, str]:
    """doctor's line on the reader: the PC/SC name it found, and whether it passed."""
    done = subprocess.run(
        [sys.executable, "-m", "register_agent", "--config", str(till.config), "doctor"],
        capture_output=True,
        text=True,
        env={**till.pcscd.env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    line = next(row for row in done.stdout.splitlines() if "reader nfc" in row)
    found = re.search(r"reader '([^']+)' present", line)
    return (found.group(1) if found else line), ("ok" if found else "fail")
