"""``register-agent doctor`` against a good till and a broken one: the sandbox over
loopback, a virtual network printer, a pty as the serial reader, real directories."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.virtual_printer import VirtualPrinter
from register_agent import __version__
from register_agent.cli import main
from register_agent.commands.doctor.check import Check
from register_agent.commands.doctor.diagnosis import cpu_check, diagnose, run_doctor
from register_agent.config import load_config
from register_agent.journal import Journal
from register_agent.journal.schema import MIGRATIONS
from register_agent.runtime.cpu import CpuSetting
from register_agent.sandbox import default_seed_path, start_sandbox
from tests.conftest import Sandbox
from tests.support.ops_support import TOKEN_SECRET
from tests.support.ports import free_port
from tests.support.reader_support import pty_pair

pytestmark = pytest.mark.timeout(30)


def config_file(
    directory: Path, *, base_url: str, state: Path, printer_port: int, reader_port: str
) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f'[api]\nversion = "v3"\nbase_url = "{base_url}"\n\n'
        f'[state]\ndirectory = "{state}"\n\n'
        f'[printer]\nkind = "network"\nhost = "127.0.0.1"\nport = {printer_port}\n'
        "timeout_s = 1.0\nstatus_timeout_s = 0.5\n\n"
        f'[[readers]]\nkind = "serial"\nname = "counter"\nport = "{reader_port}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def printer() -> Iterator[VirtualPrinter]:
    with VirtualPrinter() as running:
        yield running


@pytest.fixture
def reader_port() -> Iterator[str]:
    with pty_pair() as (_, path):
        yield path


@pytest.fixture
def devices(printer: VirtualPrinter, reader_port: str) -> tuple[int, str]:
    """The printer's port and the reader's path of a till whose devices work."""
    return printer.address[1], reader_port


def secrets(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("REGISTER_AGENT_API__API_KEY", key)
    monkeypatch.setenv("REGISTER_AGENT_API__LOYALTY_TOKEN_SECRET", TOKEN_SECRET)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_a_good_till_passes_every_check(
    sandbox_clean: Sandbox,
    tmp_path: Path,
    devices: tuple[int, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secrets(monkeypatch, sandbox_clean.v3_key)
    path = config_file(
        tmp_path,
        base_url=sandbox_clean.url,
        state=tmp_path / "state",
        printer_port=devices[0],
        reader_port=devices[1],
    )
    Journal.open(tmp_path / "state" / "journal.sqlite3").close()  # as the agent left it

    assert run_doctor(lambda: load_config(path)) == 0

    output = capsys.readouterr().out
    assert "FAIL" not in output, output
    assert "SKIP" not in output, output
    for name in (
        "config",
        "API key",
        "clock",
        "loyalty-token secret",
        "attribute agent_operation_id",
        "state directory",
        "free space",
        "journal",
        "outbox",
        "reader counter",
        "printer",
        "cpu",
    ):
        assert f"PASS  {name}:" in output, name
    assert "against the Register API's Date header" in output
    version = len(MIGRATIONS)  # the journal the agent made is up to date
    assert f"journal_mode=wal, schema {version}/{version}, quick_check ok" in output
    assert sandbox_clean.v3_key not in output
    assert TOKEN_SECRET not in output


def test_a_broken_till_names_each_problem_with_its_fix(
    sandbox_clean: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets(monkeypatch, "a-wrong-key")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the state directory should be")
    path = config_file(
        tmp_path,
        base_url=sandbox_clean.url,
        state=blocker / "state",
        printer_port=free_port(),
        reader_port="/dev/ttyREGISTERAGENT9",
    )
    with path.open("a", encoding="utf-8") as config:
        config.write("\n[process]\ncpu = 4095\n")  # no till has that CPU

    checks = by_name(diagnose(lambda: load_config(path)))

    expected = {
        "API key": ("refused", "create a new register API key"),
        "state directory": ("not writable", "owned by the service user"),
        "reader counter": ("does not exist", "plug the reader in"),
        "printer": ("network", "check [printer] in the config"),
        "cpu": ("cpu = 4095: this agent may run on CPU", "correct [process] cpu"),
    }
    for name, (problem, fix) in expected.items():
        check = checks[name]
        assert check.verdict == "FAIL", check
        assert problem in check.detail, check
        assert fix in check.fix, check
    assert checks["attribute agent_operation_id"].verdict == "SKIP"
    assert "a-wrong-key" not in "\n".join(check.line() for check in checks.values())


@pytest.mark.parametrize(
    ("setting", "allowed", "verdict", "said"),
    [
        ("one", {0, 1}, "PASS", "keeps to the CPU it starts on, one of 0,1"),
        ("one", {2}, "PASS", "runs where the kernel puts it, on 2"),
        ("all", {0, 1}, "PASS", "runs where the kernel puts it, on 0,1"),
        (1, {0, 1}, "PASS", "keeps to CPU 1 of 0,1"),
        (3, {0, 1}, "FAIL", "cpu = 3: this agent may run on CPU 0, 1 only"),
    ],
)
def test_the_cpu_setting_is_checked_against_the_cpus_the_agent_may_use(
    setting: CpuSetting, allowed: set[int], verdict: str, said: str
) -> None:
    check = cpu_check(setting, allowed)
    assert (check.verdict, check.name) == (verdict, "cpu"), check
    assert said in check.detail, check


def test_a_missing_operation_attribute_is_named_with_its_fix(
    tmp_path: Path, devices: tuple[int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = (
        default_seed_path()
        .read_text(encoding="utf-8")
        .replace(
            'loyalty_transaction_attributes = ["agent_operation_id", "pos_receipt_id"]',
            'loyalty_transaction_attributes = ["pos_receipt_id"]',
        )
    )
    assert 'loyalty_transaction_attributes = ["pos_receipt_id"]' in seed  # the seed changed
    seed_path = tmp_path / "seed.toml"
    seed_path.write_text(seed, encoding="utf-8")
    handle = start_sandbox(seed_path)
    try:
        secrets(monkeypatch, "sandbox-v3-key")
        state = tmp_path / "state"
        state.mkdir()
        path = config_file(
            tmp_path,
            base_url=handle.url,
            state=state,
            printer_port=devices[0],
            reader_port=devices[1],
        )
        checks = by_name(diagnose(lambda: load_config(path)))
    finally:
        handle.stop()

    attribute = checks["attribute agent_operation_id"]
    assert attribute.verdict == "FAIL", attribute
    assert "missing from the account's loyalty-transaction attributes" in attribute.detail
    assert "create the loyalty-transaction attribute agent_operation_id" in attribute.fix
    assert [c.name for c in checks.values() if c.verdict == "FAIL"] == [attribute.name]


def test_the_status_ticket_prints_till_shop_api_outbox_and_version(
    sandbox_clean: Sandbox,
    tmp_path: Path,
    printer: VirtualPrinter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secrets(monkeypatch, sandbox_clean.v3_key)
    with pty_pair() as (_, reader):
        path = config_file(
            tmp_path,
            base_url=sandbox_clean.url,
            state=tmp_path / "state",
            printer_port=printer.address[1],
            reader_port=reader,
        )
        Journal.open(tmp_path / "state" / "journal.sqlite3").close()
        assert main(["--config", str(path), "print-test", "--status-ticket"]) == 0

    assert printer.wait_until(lambda p: len(p.printed()) == 1, timeout=5)
    ticket = printer.printed()[0].decode("cp858", errors="replace")
    expected = (
        "Till: Till 1 (T001)",
        "Shop: Bakkerij Centrum",
        "v3: key accepted",
        "Reader counter: serial",
        "Outbox: 0 waiting",
        f"register-agent {__version__}",
    )
    for line in expected:
        assert line in ticket, line
    assert re.search(r"STATUS\n.*-{10,}\n\d{4}-\d\d-\d\d \d\d:\d\d ", ticket, re.S), ticket
    assert sandbox_clean.v3_key not in capsys.readouterr().out
