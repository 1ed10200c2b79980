"""``passthrough-test`` and ``passthrough-learn`` as the installer runs them: ``register-agent``
in a process of its own, on recorded files, with a till and a printer on real sockets (the
printer in its own process, ``tests/support/printer_process.py``)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from register_agent.config import ReceiptTemplate
from register_agent.passthrough.escpos_reader import decode_job
from register_agent.passthrough.template import FoundReceipt, find_sale
from tests.support.escpos_streams import STREAMS, shop_receipt
from tests.support.ports import free_port
from tests.support.printer_process import PrinterProcess
from tests.support.serial_printer import SerialPrinter

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "escpos"
RECEIPT = CORPUS / "escpos-tools-receipt-with-logo.bin"

pytestmark = pytest.mark.timeout(90)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTER_AGENT_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "register_agent", *args],
        capture_output=True, text=True, timeout=60, check=False, env=_env(), cwd=cwd,
    )  # fmt: skip


@contextlib.contextmanager
def learning(config: Path, *args: str, cwd: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``passthrough-learn`` running in its own process, and the first line it printed (where
    it listens, where it forwards to) once it is ready for the till's job; killed on the way
    out if a failed check left it waiting."""
    with subprocess.Popen(
        [sys.executable, "-m", "register_agent", "--config", str(config),
         "passthrough-learn", "--timeout", "30", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=cwd,
    ) as learn:  # fmt: skip
        try:
            assert learn.stdout is not None
            yield learn, learn.stdout.readline()
        finally:
            learn.kill()  # nothing to do once it has ended


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    (tmp_path / "state").mkdir(exist_ok=True)
    path.write_text(f'[state]\ndirectory = "{tmp_path / "state"}"\n{extra}', encoding="utf-8")
    return path


def test_passthrough_test_says_what_it_finds_in_a_recorded_receipt(tmp_path: Path) -> None:
    result = cli(
        "passthrough-test", str(RECEIPT), "--config", str(write_config(tmp_path)), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    cut = RECEIPT.read_bytes().index(b"\x1dVA")
    assert "  13  Total            $ 14.25\n" in result.stdout
    assert f"---- cut at byte {cut} ----" in result.stdout
    assert "found the sale: total 14.25, receipt number none printed" in result.stdout
    assert "an original: a scanned card gets the credits" in result.stdout
    assert f"the loyalty block goes before the cut at byte {cut}" in result.stdout


def test_passthrough_test_with_a_template_file_finds_the_number_and_the_copy(
    tmp_path: Path,
) -> None:
    template = tmp_path / "template.toml"
    template.write_text(
        "[passthrough.template]\nreceipt_no = ['Bonnr: (?P<receipt_no>[0-9-]+)']\n",
        encoding="utf-8",
    )
    config = write_config(tmp_path)
    original, copy = tmp_path / "bon.bin", tmp_path / "kopie.bin"
    original.write_bytes(shop_receipt())
    copy.write_bytes(shop_receipt(copy=True))
    found = cli(
        "passthrough-test",
        str(original),
        "--template",
        str(template),
        "--config",
        str(config),
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    assert "found the sale: total 12.50, receipt number 2024-00117" in found.stdout
    reprint = cli(
        "passthrough-test",
        str(copy),
        "--template",
        str(template),
        "--config",
        str(config),
        cwd=tmp_path,
    )
    assert reprint.returncode == 1  # a copy never credits
    assert "a COPY or reprint: it never credits" in reprint.stdout


@pytest.mark.parametrize(
    ("job", "says"),
    [
        (b"TOTAL 3,00\n\x1dv0\x00\x40\x00\x40\x00" + bytes(10), "lost its way at byte 11"),
        (
            STREAMS["raster_only_receipt"][0](),
            "nothing found (raster_only): the receipt is printed as a picture",
        ),
        (b"Subtotal 3,00\n\x1dV\x00", "nothing found (no_total)"),
        (b"Totaal -3,00\n\x1dV\x00", "nothing found (not_positive)"),
    ],
)
def test_passthrough_test_says_why_a_job_would_print_untouched(
    tmp_path: Path, job: bytes, says: str
) -> None:
    recorded = tmp_path / "job.bin"
    recorded.write_bytes(job)
    result = cli(
        "passthrough-test", str(recorded), "--config", str(write_config(tmp_path)), cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    assert says in result.stdout


def test_a_template_with_a_mistake_is_refused_with_what_to_fix(tmp_path: Path) -> None:
    template = tmp_path / "template.toml"
    template.write_text("total = ['TOTAL (\\d+)']\ncopy_marker = []\n", encoding="utf-8")
    result = cli(
        "passthrough-test",
        str(RECEIPT),
        "--template",
        str(template),
        "--config",
        str(write_config(tmp_path)),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "template.total: " in result.stderr
    assert "has no named group (?P<total>...); add one" in result.stderr
    assert "template.copy_marker: unknown key; did you mean 'copy_markers'?" in result.stderr


def test_passthrough_learn_records_forwards_and_proposes_a_template(
    tmp_path: Path, printer: PrinterProcess
) -> None:
    host, port = printer.address
    till_port = free_port()
    listen = f"127.0.0.1:{till_port}"
    config = write_config(
        tmp_path,
        f'[printer]\nkind = "network"\nhost = "{host}"\nport = {port}\n'
        f'[passthrough]\nlisten = "{listen}"\n',
    )
    receipt = shop_receipt()
    with learning(config, cwd=tmp_path) as (learn, ready):
        assert f"listening on {listen}, forwarding to the printer at {host}:{port}" in ready
        with socket.create_connection(("127.0.0.1", till_port), timeout=10) as till:
            # a till that asks the printer's status first gets the real printer's answer
            till.sendall(b"\x10\x04\x01")
            assert till.recv(1) == b"\x16"
            till.sendall(receipt)
        out, err = learn.communicate(timeout=30)
    assert learn.returncode == 0, err
    assert (tmp_path / "passthrough-job.bin").read_bytes() == b"\x10\x04\x01" + receipt
    assert printer.printed() == [receipt]  # the printer keeps the status query apart
    assert "   6  TOTAAL                     12,50 €" in out
    assert "proposed: the total on line 6, the receipt number on line 2" in out
    table = tomllib.loads((tmp_path / "passthrough-template.toml").read_text(encoding="utf-8"))
    template = ReceiptTemplate.model_validate(table["passthrough"]["template"])
    found = find_sale(decode_job(receipt), template)
    assert isinstance(found, FoundReceipt)
    assert (found.total, found.receipt_no) == (Decimal("12.50"), "2024-00117")
    check = cli(
        "passthrough-test",
        "passthrough-job.bin",
        "--template",
        "passthrough-template.toml",
        "--config",
        str(config),
        cwd=tmp_path,
    )
    assert "found the sale: total 12.50, receipt number 2024-00117" in check.stdout


def test_passthrough_learn_says_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config = write_config(tmp_path, f'[passthrough]\nlisten = "127.0.0.1:{port}"\n')
        result = cli("--config", str(config), "passthrough-learn", "--no-forward", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        f"127.0.0.1:{port} is taken, most likely by the running agent's pass-through"
        in result.stderr
    )


def test_passthrough_learn_without_a_printer_records_only_and_says_why_no_template(
    tmp_path: Path,
) -> None:
    till_port = free_port()
    listen = f"127.0.0.1:{till_port}"
    config = write_config(tmp_path, f'[passthrough]\nlisten = "{listen}"\n')
    refused = cli("--config", str(config), "passthrough-learn", cwd=tmp_path)
    assert refused.returncode == 2
    assert "no [printer] to forward the till's job to" in refused.stderr
    picture = STREAMS["raster_only_receipt"][0]()
    with learning(config, "--no-forward", "--out", "picture.bin", cwd=tmp_path) as (learn, ready):
        assert f"listening on {listen};" in ready
        with socket.create_connection(("127.0.0.1", till_port), timeout=10) as till:
            till.sendall(picture)
        out, _ = learn.communicate(timeout=30)
    assert learn.returncode == 1
    assert (tmp_path / "picture.bin").read_bytes() == picture
    assert "no template to propose: the receipt is printed as a picture" in out
    assert not (tmp_path / "passthrough-template.toml").exists()


def test_a_config_file_as_template_uses_its_template_or_says_it_has_none(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, '[passthrough]\nenabled = true\n[passthrough.template]\npick = "last"\n'
    )
    used = cli(
        "passthrough-test",
        str(RECEIPT),
        "--template",
        str(config),
        "--config",
        str(config),
        cwd=tmp_path,
    )
    assert used.returncode == 0, used.stderr
    assert "found the sale: total 14.25" in used.stdout
    bare = tmp_path / "bare.toml"
    bare.write_text("[passthrough]\nenabled = true\n", encoding="utf-8")
    refused = cli(
        "passthrough-test",
        str(RECEIPT),
        "--template",
        str(bare),
        "--config",
        str(config),
        cwd=tmp_path,
    )
    assert refused.returncode == 2
    assert "has no [passthrough.template] table; add one" in refused.stderr


def test_passthrough_learn_relays_to_a_serial_printer_through_the_agents_relay(
    tmp_path: Path,
) -> None:
    """Learning forwards through the relay the agent runs, so to any printer it relays to:
    here one on a serial line, whose status answer reaches the till."""
    printer = SerialPrinter(tmp_path)
    try:
        till_port = free_port()
        config = write_config(
            tmp_path,
            f'[printer]\nkind = "serial"\nport = "{printer.path}"\nflow_control = "none"\n'
            f'[passthrough]\nlisten = "127.0.0.1:{till_port}"\n',
        )
        receipt = shop_receipt()
        with learning(config, cwd=tmp_path) as (learn, ready):
            assert "forwarding to the printer on its serial line" in ready, ready
            with socket.create_connection(("127.0.0.1", till_port), timeout=10) as till:
                till.sendall(b"\x10\x04\x01")
                assert till.recv(1) == b"\x16"  # the serial printer's own answer
                till.sendall(receipt)
            out, err = learn.communicate(timeout=30)
        assert learn.returncode == 0, err
        assert (tmp_path / "passthrough-job.bin").read_bytes() == b"\x10\x04\x01" + receipt
        assert printer.received() == b"\x10\x04\x01" + receipt  # relayed untouched
        assert "proposed: the total on line 6" in out
    finally:
        printer.stop()
