"""Reader and scan settings: what a pty cannot catch (a wrong baud rate) must stop start-up."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from register_agent.config import (
    KeyboardReaderConfig,
    PcscReaderConfig,
    SerialReaderConfig,
    VirtualReaderConfig,
    load_config,
)
from register_agent.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "register-agent.example.toml"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REGISTER_AGENT_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_the_documented_reader_examples_are_valid(tmp_path: Path) -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    block = example.split("# BEGIN reader examples")[1].split("# END reader examples")[0]
    # "# " lines are example settings, "## " lines are prose.
    readers = "\n".join(line[2:] for line in block.splitlines() if re.match(r"# (?!#)", line))
    config = load_config(EXAMPLE)
    assert config.readers == []
    assert config.scans.debounce_s == 2.0
    path = tmp_path / "with-readers.toml"
    path.write_text(example + "\n" + readers, encoding="utf-8")
    serial, keyboard, virtual, pcsc = load_config(path).readers
    assert isinstance(serial, SerialReaderConfig)
    assert (serial.port, serial.prefix, serial.suffix) == (
        "/dev/serial/by-id/usb-Honeywell_Imaging_Scanner_12345-if00",
        "\x02",
        "\x03",
    )
    assert isinstance(keyboard, KeyboardReaderConfig)
    assert keyboard.grab
    assert isinstance(virtual, VirtualReaderConfig)
    assert virtual.socket_path == Path("/run/register-agent/virtual.sock")
    assert isinstance(pcsc, PcscReaderConfig)
    assert (pcsc.reader, pcsc.debounce_s, pcsc.uid_format) == ("ACR122U", 0.3, "hex")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("baudrate = 9601", "readers.0.serial.baudrate: Value error, 9601 is not a standard"),
        ('parity = "no"', "readers.0.serial.parity: Input should be 'none'"),
        ("bytesize = 9", "readers.0.serial.bytesize: Input should be 5, 6, 7 or 8"),
        ("stopbits = 3", "readers.0.serial.stopbits: Value error, must be 1, 1.5 or 2"),
        ('terminator = "crlf"', "readers.0.serial.terminator: Input should be 'auto' or 'none'"),
        ("inter_char_timeout_s = 0", "readers.0.serial.inter_char_timeout_s: Input should be"),
        ("baudrat = 9600", "readers.0.serial.baudrat: unknown key; did you mean 'baudrate'?"),
    ],
)
def test_wrong_serial_settings_stop_start_up(tmp_path: Path, setting: str, message: str) -> None:
    text = f'[[readers]]\nname = "front"\nkind = "serial"\nport = "/dev/ttyACM0"\n{setting}\n'
    assert message in error_of(tmp_path, text)


def test_reader_kind_and_name_are_checked(tmp_path: Path) -> None:
    assert "readers.0: Input tag 'usb' found using 'kind' does not match" in error_of(
        tmp_path, '[[readers]]\nname = "a"\nkind = "usb"\n'
    )
    assert "readers.0.serial.port: Field required" in error_of(
        tmp_path, '[[readers]]\nname = "a"\nkind = "serial"\n'
    )
    assert "readers.0.virtual.name: String should match pattern" in error_of(
        tmp_path, '[[readers]]\nname = "front desk"\nkind = "virtual"\n'
    )
    twice = '[[readers]]\nname = "a"\nkind = "virtual"\n' * 2
    assert "reader names must be unique; a used twice" in error_of(tmp_path, twice)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("min_length = 10\nmax_length = 5", "min_length must not be greater than max_length"),
        ("max_length = 1000", "scans.max_length: Input should be less than or equal to 256"),
        ('allowed_characters = "A-Z]|.*"', "scans.allowed_characters: Value error, must be"),
        ('loyalty_patterns = ["(unclosed"]', "pattern '(unclosed' is not a valid regular"),
        ("plain_gtin_lengths = [11]", "scans.plain_gtin_lengths.0: Input should be 8, 12"),
        ("nfc_uid_bytes = [0]", "UID sizes are bytes between 1 and 32"),
        ("debounce_s = -1", "scans.debounce_s: Input should be greater than or equal to 0"),
        ("debounce = 2", "scans.debounce: unknown key; did you mean 'debounce_s'?"),
    ],
)
def test_wrong_scan_settings_stop_start_up(tmp_path: Path, setting: str, message: str) -> None:
    assert message in error_of(tmp_path, f"[scans]\n{setting}\n")


def test_the_virtual_socket_defaults_to_the_runtime_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    reader = VirtualReaderConfig(kind="virtual", name="demo")
    assert reader.socket_path == Path("/run/user/1000/register-agent/demo.sock")
    monkeypatch.setenv("RUNTIME_DIRECTORY", "/run/register-agent")  # under systemd
    assert reader.socket_path == Path("/run/register-agent/demo.sock")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[readers]]\nname = "nfc"\nkind = "pcsc"\n',
            "readers.0.pcsc.reader: Field required",
        ),
        (
            '[[readers]]\nname = "gate"\nkind = "serial"\nport = "/dev/ttyACM0"\n'
            'uid_format = "8H10D"\n',
            "readers.0.serial.uid_format: Input should be 'hex', 'hex_reversed', 'decimal'",
        ),
        ('[scans]\ncanonical_uid = "wiegand26"\n', "scans.canonical_uid: Input should be 'hex'"),
        (
            '[[readers]]\nname = "nfc"\nkind = "pcsc"\nreader = "ACR"\nuid_format = "decimal"\n',
            "readers.0.pcsc.uid_format: Value error, a PC/SC reader gives the UID as the card",
        ),
    ],
)
def test_wrong_uid_and_pcsc_settings_stop_start_up(tmp_path: Path, text: str, message: str) -> None:
    assert message in error_of(tmp_path, text)
