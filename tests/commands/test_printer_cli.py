"""`register-agent print-test`: the installer's check that the printer works."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from drivers.virtual_printer import VirtualPrinter, VirtualState
from register_agent.cli import main


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("REGISTER_AGENT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def write_config(tmp_path: Path, printer: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[printer]\n{printer}\nstatus_timeout_s = 0.5\n\n[receipt]\nlanguage = "nl"\n'
        'header = ["Bakkerij Jansen"]\n',
        encoding="utf-8",
    )
    return path


def test_print_test_prints_on_a_network_printer_and_reports_its_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with VirtualPrinter() as device:
        device.state = VirtualState.PAPER_NEAR_END
        host, port = device.address
        config = write_config(tmp_path, f'kind = "network"\nhost = "{host}"\nport = {port}')
        assert main(["--config", str(config), "print-test"]) == 0
        assert device.wait_until(lambda p: len(p.printed()) == 1, timeout=2)
        data = device.printed()[0]
    out = capsys.readouterr().out
    assert "paper near end" in out
    assert "test receipt printed" in out
    assert "Café crème € 3,50".encode("cp858") in data
    assert b"\x1d(k" in data  # QR
    assert b"\x1dk" in data  # barcode
    assert b"\x1dV" in data  # cut


def test_print_test_on_a_printer_out_of_paper_says_so_and_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with VirtualPrinter() as device:
        device.state = VirtualState.PAPER_OUT
        host, port = device.address
        config = write_config(tmp_path, f'kind = "network"\nhost = "{host}"\nport = {port}')
        assert main(["--config", str(config), "print-test"]) == 1
        assert device.jobs() == []
    assert "out of paper" in capsys.readouterr().out


def test_print_test_on_the_virtual_printer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(write_config(tmp_path, 'kind = "virtual"')), "print-test"]) == 0
    assert "test receipt printed" in capsys.readouterr().out


def test_print_test_preview_writes_a_png_whose_qr_code_scans(tmp_path: Path) -> None:
    preview = tmp_path / "receipt.png"
    config = write_config(tmp_path, 'kind = "virtual"')
    assert main(["--config", str(config), "print-test", "--preview", str(preview)]) == 0
    assert preview.read_bytes().startswith(b"\x89PNG")
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is not installed (Debian zbar-tools; scripts/setup.sh installs it)")
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", str(preview)],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    ).stdout.split()
    assert "https://loyalty.piggy.eu/test" in decoded
