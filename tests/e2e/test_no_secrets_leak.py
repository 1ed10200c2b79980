"""A whole shift on the real agent with debug logging, then a search of everything it left
behind: its logs, its journal database and the receipt bytes must hold neither the API key,
the loyalty-token secret, the local API token nor a full card value (loyalty cards and the
giftcard, a bearer value). The counter's customer work is in the shift too: its e-mail
addresses and custom attributes stay out of the logs. The logs are JSON lines naming the
sale, operation and device they concern.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass

import httpx
import pytest

from drivers.virtual_printer import VirtualPrinter
from tests.conftest import Sandbox
from tests.support.agent_process import (
    JAN_CARD,
    TOKEN_SECRET,
    Notifications,
    local_api,
    running_agent,
    wait_until,
    write_config,
    write_credentials,
)
from tests.support.ports import free_port
from tests.support.reader_support import pty_pair

LOCAL_TOKEN = "local-api-token-that-must-never-be-logged-42"
MARIE_CARD = "B2C3D4E5"
UNREGISTERED_CARD = "D4E5F6A7"
GIFTCARD = "GC7F3A9B21"  # the seed's giftcard: whoever has its number can spend it
CARDS = (JAN_CARD, MARIE_CARD, UNREGISTERED_CARD, GIFTCARD)
NEW_CUSTOMER = "new.customer@example.org"
#: a customer's personal data: never in a log line (the POS and the receipt may show it)
PERSONAL = {
    "new customer's e-mail": NEW_CUSTOMER,
    "Jan's e-mail": "jan@example.org",
    "Jan's birthday": "1980-04-12",
}
COFFEE = "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"


@dataclass
class Shift:
    log: str
    journal: bytes
    receipts: list[bytes]
    secrets: dict[str, str]
    metrics: str | None


@pytest.fixture(scope="module")
def shift(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Shift:
    sandbox.reset()
    directory = tmp_path_factory.mktemp("shift")
    secrets = {
        "api key": sandbox.v3_key,
        "token secret": TOKEN_SECRET,
        "local API token": LOCAL_TOKEN,
    }
    credentials = write_credentials(
        directory / "credentials",
        {
            "api-key": sandbox.v3_key,
            "loyalty-token-secret": TOKEN_SECRET,
            "local-api-token": LOCAL_TOKEN,
        },
    )
    port, metrics_port = free_port(), free_port()
    with VirtualPrinter() as printer, pty_pair() as (reader, reader_path):
        config = write_config(
            directory,
            base_url=sandbox.url,
            printer_port=printer.address[1],
            api_port=port,
            extra=(
                f'[[readers]]\nkind = "serial"\nname = "counter"\nport = "{reader_path}"\n'
                '[logging]\nformat = "json"\nlevel = "debug"\n'
                '[newsletter]\nsubscription_type = "Nieuwsbrief"\n'
            ),
        )
        text = config.read_text(encoding="utf-8").replace(
            'metrics_listen = ""', f'metrics_listen = "127.0.0.1:{metrics_port}"'
        )
        config.write_text(text, encoding="utf-8")
        notifications = Notifications(directory / "notify")
        env = {"CREDENTIALS_DIRECTORY": str(credentials)}
        with running_agent(
            config,
            notifications,
            watchdog_usec=10_000_000,
            env=env,
            log=directory / "agent.log",
            verbose=True,
        ) as agent:
            notifications.wait_for("READY=1", timeout_s=15)
            with local_api(port, LOCAL_TOKEN) as api:
                _work_the_shift(api, reader, sandbox)
                wait_until(lambda: len(printer.printed()) >= 4, 10, "four receipts printed")
                metrics = _metrics(metrics_port)
            agent.signal(signal.SIGTERM)
            assert agent.stop() == 0
        notifications.close()
        receipts = printer.printed()
    state = directory / "state"
    journal = b"".join(path.read_bytes() for path in sorted(state.glob("journal.sqlite3*")))
    return Shift(
        log=agent.output(),
        journal=journal,
        receipts=receipts,
        secrets=secrets,
        metrics=metrics,
    )


def _work_the_shift(api: httpx.Client, reader: int, sandbox: Sandbox) -> None:
    """Scans, sales, a reward claim, and two failures of the Register API."""
    os.write(reader, JAN_CARD.encode() + b"\r\n")
    wait_until(lambda: api.get("/v1/customer").status_code == 200, 5, "Jan at the counter")
    _sell(api, {"sale_id": "S-1", "amount": "12.50"})  # Jan, by the scan
    _sell(api, {"sale_id": "S-2", "amount": "8.00", "customer_card": MARIE_CARD})
    _sell(api, {"sale_id": "S-3", "amount": "5.25"})  # nobody: a loyalty token QR
    _sell(api, {"sale_id": "S-4", "amount": "3.00", "customer_card": UNREGISTERED_CARD})
    claim = {"claim_id": "C-1", "reward_key": COFFEE, "customer_card": JAN_CARD}
    assert api.post("/v1/rewards/claims", json=claim).status_code in (200, 201)
    unknown = {"claim_id": "C-2", "reward_key": "no-such-reward", "customer_card": JAN_CARD}
    assert api.post("/v1/rewards/claims", json=unknown).status_code >= 400
    _counter_work(api)
    sandbox.set_fault(mode="error_503", count=2, paths=["/api/v3"])
    _sell(api, {"sale_id": "S-5", "amount": "4.00", "customer_card": JAN_CARD})
    wait_until(
        lambda: len([row for row in sandbox.ledger() if row["kind"] == "credit_reception"]) >= 3,
        10,
        "the credits of S-1, S-2 and S-5",
    )
    time.sleep(0.5)  # the receipts settle


def _counter_work(api: httpx.Client) -> None:
    """Issue 7 at the counter: a card handed out, Jan found by e-mail, chosen for the next
    sale and opted in, a giftcard paying part of S-6 and refusing an overspend."""
    handed = api.post("/v1/cards", json={"card": UNREGISTERED_CARD, "email": NEW_CUSTOMER})
    assert handed.status_code == 200, handed.text
    assert api.get("/v1/customers", params={"email": "jan@example.org"}).status_code == 200
    chosen = api.post("/v1/customer", json={"email": "jan@example.org"})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["attributes"]["birthday"] == "1980-04-12"  # the POS sees it
    opted = api.put("/v1/customer/newsletter", json={"subscribed": True})
    assert opted.status_code == 200, opted.text
    payment = {"payment_id": "G-1", "card": GIFTCARD, "amount": "2.00", "sale_id": "S-6"}
    assert api.post("/v1/giftcards/payments", json=payment).status_code == 200
    overspend = {**payment, "payment_id": "G-2", "amount": "99.00"}
    assert api.post("/v1/giftcards/payments", json=overspend).status_code == 409
    _sell(api, {"sale_id": "S-6", "amount": "6.00"})  # Jan's, as chosen above


def _sell(api: httpx.Client, sale: dict[str, str]) -> None:
    response = api.post("/v1/sales", json=sale)
    assert response.status_code in (200, 201), response.text


def _metrics(port: int) -> str | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.TransportError:
        return None  # no metrics listener in this build


def _hits(haystack: bytes, needles: dict[str, str]) -> list[str]:
    return [name for name, value in needles.items() if value.encode() in haystack]


def test_the_logs_name_no_secret_and_no_whole_card(shift: Shift) -> None:
    log = shift.log.encode()
    assert _hits(log, shift.secrets) == []
    assert _hits(log, {card: card for card in CARDS}) == []
    assert "…C3D4" in shift.log  # Jan's card appears, by its last 4 characters
    assert _hits(log, PERSONAL) == []


def test_the_receipts_hold_no_secret_and_no_card(shift: Shift) -> None:
    assert len(shift.receipts) >= 4
    for receipt in shift.receipts:
        assert _hits(receipt, shift.secrets) == []
        assert _hits(receipt, {card: card for card in CARDS}) == []


def test_the_journal_holds_no_secret(shift: Shift) -> None:
    assert b"S-1" in shift.journal  # the right file was read
    assert _hits(shift.journal, shift.secrets) == []


def test_the_journal_holds_no_whole_card(shift: Shift) -> None:
    # a card value stays while its operation waits (an offline scan is resolved from it);
    # once every operation of the shift is done, none is left in the file (journal/scrub.py)
    assert _hits(shift.journal, {card: card for card in CARDS}) == []


def test_the_metrics_hold_no_secret_and_no_card(shift: Shift) -> None:
    assert shift.metrics is not None, "the shift's agent served no metrics to search"
    metrics = shift.metrics.encode()
    assert _hits(metrics, shift.secrets) == []
    assert _hits(metrics, {card: card for card in CARDS}) == []


def test_every_log_line_is_json_naming_its_sale_operation_and_device(shift: Shift) -> None:
    records = []
    for line in shift.log.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
        else:  # only the run's own announcements are not log lines
            assert not line.strip() or "register-agent" in line or line.startswith(" "), line
    assert len(records) > 20
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert any(record["level"] == "debug" for record in records)
    # S-2's credit (S-4's unregistered card now gets a QR at once: no operation to name)
    assert any(record.get("sale_id") == "S-2" and record.get("operation_id") for record in records)
    assert any(record.get("device") == "counter" for record in records)
    assert any(record.get("device") == "printer" for record in records)
