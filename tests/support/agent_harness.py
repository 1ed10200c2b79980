"""The end-to-end harness: the real ``register-agent run`` process on loopback, with a
pseudo-terminal card reader, the virtual TCP printer and the test sandbox (each standing in
for the real part of a till). A test plays the POS (``sell``), the customer (``scan``) and
the power cut (``kill``), and reads the outcome from the sandbox ledger, the agent's journal
and the printed bytes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import tty
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx

from drivers.virtual_printer import VirtualPrinter
from tests.conftest import Sandbox
from tests.support.ports import free_port

T = TypeVar("T")

TOKEN = "e2e-local-api-token"
TOKEN_SECRET = "sandbox-token-secret"  # the seed's loyalty-token secret
#: the seed's personal access token: the orders backend's, given as systemd would (a file
#: in $CREDENTIALS_DIRECTORY, what LoadCredentialEncrypted= decrypts)
PERSONAL_ACCESS_TOKEN = "sandbox-personal-access-token"
START_TIMEOUT_S = 60.0  # a bound on a busy machine, never a speed expected of the agent
STOP_TIMEOUT_S = 30.0  # a bound on a busy machine: past it, "never stopped"

#: operation states the outbox is still working on
UNSETTLED = ("pending", "in_flight", "unknown")


def wait_for(check: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after the bound."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


class AgentProcess:
    """One till: its config and state in ``home``, its reader pty, its printer, its process.

    ``base_url`` points the agent elsewhere than the sandbox (a FaultProxy in front of it).
    """

    def __init__(
        self,
        home: Path,
        sandbox: Sandbox,
        version: str,
        *,
        base_url: str | None = None,
        receipt_wait_s: float = 0.3,
        concurrency: int = 4,
        read_timeout_s: float = 2.0,
        prints: str = "receipt",
        log_level: str = "info",
        printer: Any = None,
        claim_settle_s: float = 120.0,
    ) -> None:
        self.home = home
        self.sandbox = sandbox
        self.version = version
        self.state_dir = home / "state"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = home / "agent.toml"
        self.log_path = home / "agent.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.receipt_wait_s = receipt_wait_s
        # a VirtualPrinter in this process, or one in its own (support/printer_process.py)
        self.printer = printer if printer is not None else VirtualPrinter().start()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.reader_path = os.ttyname(self._slave)
        self.read_timeout_s = read_timeout_s
        # "pos": the agent prints nothing (the fault suite's sales are not about paper)
        self.prints = prints
        self.log_level = log_level
        self.claim_settle_s = claim_settle_s
        self._write_config(base_url or sandbox.url, receipt_wait_s, concurrency)
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.exits: list[int] = []  # return codes of the processes that ended
        self.integrity_checks = 0  # how many times the journal was checked (``integrity``)
        self.extra_env: dict[str, str] = {}  # e.g. the personal access token, at each start

    def _write_config(self, base_url: str, receipt_wait_s: float, concurrency: int) -> None:
        host, port = self.printer.address
        self.config_path.write_text(
            f"""
[api]
version = "{self.version}"
base_url = "{base_url}"
loyalty_token_base_url = "{self.sandbox.url}"
connect_timeout_s = 1.0
read_timeout_s = {self.read_timeout_s}
counter_deadline_s = 1.0

[state]
directory = "{self.state_dir}"

[till]
receipt_wait_s = {receipt_wait_s}
prints = "{self.prints}"

[outbox]
concurrency = {concurrency}
backoff_base_s = 0.05
backoff_max_s = 0.5
unknown_delay_s = 0.05
claim_settle_s = {self.claim_settle_s}

[local_api]
listen = "127.0.0.1:{self.port}"
metrics_listen = ""

[printer]
kind = "network"
host = "{host}"
port = {port}
timeout_s = 2.0

[scans]
debounce_s = 0

[logging]
level = "{self.log_level}"

[[readers]]
name = "counter"
kind = "serial"
port = "{self.reader_path}"
""",
            encoding="utf-8",
        )

    # --- the process ----------------------------------------------------------------------

    def start(self, crash_at: str | None = None) -> AgentProcess:
        """Start ``register-agent run``; return once ``GET /v1/status`` answers with the pty
        reader open (a card scanned before the reader's port is open would be lost)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        key = self.sandbox.v1_key if self.version == "v1" else self.sandbox.v3_key
        env = {
            **os.environ,
            "REGISTER_AGENT_API__API_KEY": key,
            "REGISTER_AGENT_API__LOYALTY_TOKEN_SECRET": TOKEN_SECRET,
            "REGISTER_AGENT_LOCAL_API__TOKEN": TOKEN,
        }
        env.update(self.extra_env)
        env.pop("REGISTER_AGENT_CRASH_AT", None)
        if self.version == "orders":
            credentials = self.home / "credentials"
            credentials.mkdir(exist_ok=True)
            (credentials / "personal-access-token").write_text(PERSONAL_ACCESS_TOKEN + "\n")
            env["CREDENTIALS_DIRECTORY"] = str(credentials)
        if crash_at is not None:
            env["REGISTER_AGENT_CRASH_AT"] = crash_at
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start (crash_at={crash_at}) =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "register_agent", "--config", str(self.config_path), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        wait_for(self._answers, START_TIMEOUT_S, "the agent's local API")
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"the agent exited with {self.process.returncode} while starting:\n{self.log()}"
            )
        try:
            answer = self.http.get("/v1/status", timeout=1)
        except httpx.TransportError:
            return False
        if answer.status_code != 200:
            return False
        readers: list[str] = answer.json().get("readers", [])
        return all(": ok" in reader for reader in readers)

    def kill(self) -> None:
        """Power cut: SIGKILL, no cleanup."""
        self._end(signal.SIGKILL)

    def stop(self) -> int:
        """A clean stop (SIGTERM); the exit code."""
        return self._end(signal.SIGTERM)

    def _end(self, sig: signal.Signals) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(STOP_TIMEOUT_S)
        self.exits.append(code)
        return code

    def wait_exit(self, timeout_s: float) -> int:
        """The process ends by itself (a crash point); its exit code."""
        assert self.process is not None
        code = self.process.wait(timeout_s)
        self.exits.append(code)
        return code

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self.running:
            self.kill()
        self.http.close()
        self.printer.stop()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    # --- the POS and the customer ---------------------------------------------------------

    def sell(self, sale_id: str, amount: str, **extra: Any) -> httpx.Response:
        """``POST /v1/sales``; a receipt line names the sale, so its print can be found."""
        body: dict[str, Any] = {
            "sale_id": sale_id,
            "amount": amount,
            "lines": [{"text": f"Sale {sale_id}"}],
            **extra,
        }
        return self.http.post("/v1/sales", json=body)

    def refund(
        self, sale_id: str, amount: str | None = None, refund_id: str | None = None
    ) -> httpx.Response:
        """``POST /v1/sales/{id}/refund``: the whole sale, or ``amount`` of it; a part refund
        needs its ``refund_id`` (the same one again is the same refund, answered once)."""
        body = {
            key: value
            for key, value in (("amount", amount), ("refund_id", refund_id))
            if value is not None
        }
        return self.http.post(f"/v1/sales/{sale_id}/refund", json=body)

    def scan(self, value: str, *, wait: bool = True) -> None:
        """A card on the pty reader; by default wait until the till has bound it."""
        os.write(self._master, f"{value}\r".encode())
        if wait:
            wait_for(
                lambda: self.http.get("/v1/customer").status_code == 200,
                5.0,
                f"the till to bind the scanned card {value[:4]}...",
            )

    def status(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.http.get("/v1/status").raise_for_status().json()
        return answer

    # --- what happened ---------------------------------------------------------------------

    @contextlib.contextmanager
    def journal(self) -> Iterator[sqlite3.Connection]:
        """The journal, read-only, beside the running agent."""
        path = self.state_dir / "journal.sqlite3"
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        connection.row_factory = sqlite3.Row
        try:
            yield connection
        finally:
            connection.close()

    def journal_rows(self, table: str) -> list[dict[str, Any]]:
        assert table in ("sales", "operations", "print_jobs", "reward_claims", "refunds")
        with self.journal() as db:
            order = "seq" if table == "operations" else "rowid"
            return [dict(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY {order}")]  # noqa: S608

    def lost_claims(self) -> dict[str, int]:
        """Reward claims whose answer was lost, by the state of their ``reward_claim``
        operation: unknown (being found out), review (a person decides), done (settled: the
        claim id answers it; ``reward_claims.state`` says done or refused)."""
        with self.journal() as db:
            rows = db.execute(
                "SELECT state, COUNT(*) FROM operations WHERE kind = 'reward_claim' GROUP BY state"
            )
            return {str(state): int(count) for state, count in rows}

    def integrity(self) -> str:
        self.integrity_checks += 1
        with self.journal() as db:
            return str(db.execute("PRAGMA integrity_check").fetchone()[0])

    def unsettled(self) -> list[dict[str, Any]]:
        return [op for op in self.journal_rows("operations") if op["state"] in UNSETTLED]

    def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until the outbox has nothing pending, in flight or unknown."""
        try:
            wait_for(lambda: not self.unsettled(), timeout_s, "the outbox to drain", 0.2)
        except AssertionError as exc:
            left = [(op["kind"], op["state"], op["last_error"]) for op in self.unsettled()]
            raise AssertionError(
                f"{exc}; still unsettled: {left[:10]}\n{self.log()[-4000:]}"
            ) from None

    def printed_for(self, sale_id: str) -> list[bytes]:
        """The printed jobs that carry this sale's line."""
        marker = f"Sale {sale_id}".encode()
        return [job for job in self.printer.printed() if marker in job]

    def wait_printed(self, sale_id: str, timeout_s: float = 5.0) -> bytes:
        jobs = wait_for(lambda: self.printed_for(sale_id), timeout_s, f"sale {sale_id}'s receipt")
        return jobs[0]


# --- a POS's own record of what it sold, checked against the ledger -----------------------

#: the seed's members and their cards (register_agent/sandbox/default_seed.toml)
MEMBERS = {"A1B2C3D4": 7731, "B2C3D4E5": 7732, "C3D4E5F6": 7733, "04A2241A6B5E80": 7734}


@dataclass
class Sold:
    """One sale as the POS made it; ``answer`` is None until the agent acknowledged it."""

    sale_id: str
    amount: str
    card: str | None
    answer: dict[str, Any] | None = None
    seconds: float | None = None  # how long the acknowledgement took

    @property
    def credits(self) -> int:
        return int(Decimal(self.amount))  # the seed's shop: 1 credit per euro, rounded down


def unique_amount(index: int) -> str:
    """Every sale of a test its own whole-euro part, so a ledger row names its sale."""
    return f"{index + 1}.{(index * 37) % 100:02d}"


def credits_by_sale(ledger: list[dict[str, Any]], book: list[Sold]) -> dict[str, list[int]]:
    """Sale id -> the ledger seq of every credit reception for it (matched by amount)."""
    sale_of = {int(Decimal(sold.amount)): sold.sale_id for sold in book}
    found: dict[str, list[int]] = {sold.sale_id: [] for sold in book}
    for row in ledger:
        # a credit reception (v1, v3), or an order's points (orders: not a return's)
        if row["kind"] == "credit_reception" or (
            row["kind"] == "points_transaction" and not row.get("order_return")
        ):
            found[sale_of[int(Decimal(row["amount"]))]].append(row["seq"])
    return found


def sell_timed(agent: AgentProcess, sold: Sold) -> None:
    """The sale by ``customer_card`` (or none); its answer and how long the POS waited."""
    extra: dict[str, Any] = {"customer_card": sold.card} if sold.card else {}
    started = time.monotonic()
    sold.answer = agent.sell(sold.sale_id, sold.amount, **extra).raise_for_status().json()
    sold.seconds = time.monotonic() - started


def sell_by_customer(sell_one: Callable[[Sold], object], book: Sequence[Sold]) -> None:
    """Every sale of ``book``, one lane per customer (and one for sales without a card), the
    lanes in parallel: like a POS per customer, so each customer's sales go in book order
    (and the ledger's order per customer can be checked) while the till serves them all."""
    lanes: dict[str | None, list[Sold]] = {}
    for sold in book:
        lanes.setdefault(sold.card, []).append(sold)

    def run(lane: list[Sold]) -> None:
        for sold in lane:
            sell_one(sold)

    with ThreadPoolExecutor(len(lanes)) as pool:
        for done in [pool.submit(run, lane) for lane in lanes.values()]:
            done.result()


@dataclass
class Tally:
    """What became of the acknowledged sales with a card, from the ledger and the journal."""

    credited_once: int = 0
    lost: int = 0  # acknowledged, not credited and not in review
    duplicated: int = 0  # credited more than once
    in_review: int = 0  # v1: left for a person to settle (review), maybe credited once


def tally(agent: AgentProcess, ledger: list[dict[str, Any]], book: Sequence[Sold]) -> Tally:
    found = credits_by_sale(ledger, list(book))
    states = {
        op["sale_id"]: op["state"]
        for op in agent.journal_rows("operations")
        if op["kind"] == "credit_reception"
    }
    counted = Tally()
    for sold in book:
        if sold.card is None or sold.answer is None:
            continue
        credits = len(found[sold.sale_id])
        if credits > 1:
            counted.duplicated += 1
        elif states.get(sold.sale_id) == "review":
            counted.in_review += 1
        elif credits == 1:
            counted.credited_once += 1
        else:
            counted.lost += 1
    return counted
