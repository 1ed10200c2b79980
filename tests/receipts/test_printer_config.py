"""The [printer] and [receipt] sections: one kind per connection, every key checked."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from register_agent.config import (
    AgentConfig,
    NetworkPrinterConfig,
    SerialPrinterConfig,
    UsbPrinterConfig,
    VirtualPrinterConfig,
    load_config,
)
from register_agent.errors import ConfigError
from register_agent.runtime.devices import PRINTER_DRIVERS, printer_cache_dir

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "register-agent.example.toml"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REGISTER_AGENT_") or name in (
            "CREDENTIALS_DIRECTORY",
            "CACHE_DIRECTORY",
        ):
            monkeypatch.delenv(name)


def load(tmp_path: Path, text: str) -> AgentConfig:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_the_example_describes_a_network_printer_and_the_receipt() -> None:
    config = load_config(EXAMPLE)
    assert isinstance(config.printer, NetworkPrinterConfig)
    assert config.printer.port == 9100
    assert config.printer.timeout_s <= 5  # never python-escpos' 60 s
    assert config.printer.line_width == 42
    assert config.receipt.header[0] == "Bakkerij Jansen"


def test_each_kind_reads_its_own_keys(tmp_path: Path) -> None:
    serial = load(tmp_path, '[printer]\nkind = "serial"\nport = "/dev/ttyS0"\nbaudrate = 9600\n')
    assert isinstance(serial.printer, SerialPrinterConfig)
    usb = load(tmp_path, '[printer]\nkind = "usb"\nvendor_id = 0x04b8\nproduct_id = 0x0e15\n')
    assert isinstance(usb.printer, UsbPrinterConfig)
    assert usb.printer.vendor_id == 0x04B8
    narrow = load(tmp_path, '[printer]\nkind = "virtual"\npaper_width_mm = 58\n')
    assert isinstance(narrow.printer, VirtualPrinterConfig)
    assert narrow.printer.line_width == 32
    assert set(PRINTER_DRIVERS) == {"network", "serial", "usb", "file", "virtual"}


def test_no_printer_section_means_no_printer(tmp_path: Path) -> None:
    assert load(tmp_path, "").printer is None


def test_the_environment_can_pick_the_virtual_printer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTER_AGENT_PRINTER__KIND", "virtual")
    assert isinstance(load(tmp_path, "").printer, VirtualPrinterConfig)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            '[printer]\nkind = "network"\nhost = "p"\nprot = 9100\n',
            "printer.network.prot: unknown key; did you mean 'port'?",
        ),
        ('[printer]\nkind = "laser"\n', "printer"),
        ('[printer]\nkind = "network"\n', "printer.network.host"),
        ('[printer]\nkind = "file"\npath = "x"\npaper_width_mm = 76\n', "paper_width_mm"),
        ('[printer]\nkind = "virtual"\nhost = "0.0.0.0"\n', "printer.virtual.host"),
        ('[receipt]\nlanguage = "de"\n', "receipt.language"),
        ('[receipt]\ncurrency = "euro"\n', "receipt.currency"),
    ],
)
def test_a_wrong_printer_key_is_named(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        load(tmp_path, text)


def test_the_capabilities_cache_is_persistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = VirtualPrinterConfig(kind="virtual")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert printer_cache_dir(config) == tmp_path / "xdg" / "register-agent" / "escpos"
    monkeypatch.setenv("CACHE_DIRECTORY", f"{tmp_path}/systemd:/other")
    assert printer_cache_dir(config) == tmp_path / "systemd" / "escpos"
    chosen = VirtualPrinterConfig(kind="virtual", capabilities_cache_dir=tmp_path / "mine")
    assert printer_cache_dir(chosen) == tmp_path / "mine"
