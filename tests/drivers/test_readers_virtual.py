"""The virtual reader and the two reader commands, as separate processes talk to them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.virtual_reader import VirtualReader, inject
from register_agent.config import VirtualReaderConfig, load_config
from register_agent.errors import ReaderError
from register_agent.readers.scans import Reason, Rejection, Scan
from tests.support.reader_support import ReaderBench, pty_pair, run, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short path: unix socket paths must stay under 108 bytes."""
    with tempfile.TemporaryDirectory(prefix="ra-") as name:
        yield Path(name)


def agent_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTER_AGENT_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "register_agent", "--config", str(config), *args]


async def cli(config: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command(config, *args),
        env=agent_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode is not None
    return process.returncode, output.decode()


def scan(config: Path, value: str) -> subprocess.CompletedProcess[bytes]:
    """``register-agent scan VALUE``, typed into the running agent's virtual reader."""
    return subprocess.run(
        command(config, "scan", value),
        env=agent_env(),
        capture_output=True,
        timeout=10,
        check=False,
    )


@contextlib.contextmanager
def scan_test(config: Path, count: int) -> Iterator[subprocess.Popen[str]]:
    """``register-agent scan-test`` waiting for ``count`` scans in its own process; killed on
    the way out if a failed check left it waiting."""
    with subprocess.Popen(
        command(config, "scan-test", "--count", str(count), "--seconds", "10"),
        env=agent_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            yield process
        finally:
            process.kill()  # nothing to do once it has ended


def virtual_config(directory: Path) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f'[[readers]]\nname = "demo"\nkind = "virtual"\ninject_socket = "{directory}/demo.sock"\n',
        encoding="utf-8",
    )
    return path


def test_register_agent_scan_types_into_the_running_virtual_reader(short_dir: Path) -> None:
    config_path = virtual_config(short_dir)
    (reader_config,) = load_config(config_path).readers
    assert isinstance(reader_config, VirtualReaderConfig)

    async def scenario() -> None:
        reader = VirtualReader(reader_config, first_retry_s=0.02)
        async with ReaderBench([reader]) as bench:
            await bench.ready()
            assert Path(os.readlink(reader.port.link)).is_relative_to("/dev/pts")
            code, output = await cli(config_path, "scan", "CARD-7777")
            assert (code, output.strip()) == (0, "sent to virtual reader demo")
            scan = await bench.next()
            assert isinstance(scan, Scan)
            assert (scan.value, scan.reader, scan.kind) == ("CARD-7777", "demo", "loyalty")

            await asyncio.to_thread(inject, reader.socket_path, b"\x1b[2J\x1b[HCLEARED\r")
            rejected = await bench.next()
            assert isinstance(rejected, Rejection)
            assert rejected.reason is Reason.ESCAPE_SEQUENCE

            reader.port.unplug()  # pull the virtual cable
            await wait_until(lambda: reader.status().state == "down")
            code, output = await cli(config_path, "scan", "CARD-8888")
            assert code == 2
            assert "unplugged" in output
            reader.port.plug()
            await wait_until(lambda: reader.status().state == "ok")
            code, _ = await cli(config_path, "scan", "CARD-9999")
            assert code == 0
            assert isinstance(again := await bench.next(), Scan)
            assert again.value == "CARD-9999"
        assert not reader.socket_path.exists()
        assert not reader.port.link.exists()

    run(scenario(), timeout_s=15)


def test_scan_without_a_running_agent_says_what_to_do(short_dir: Path) -> None:
    config_path = virtual_config(short_dir)
    result = scan(config_path, "CARD-1")
    assert result.returncode == 2
    assert b"no virtual reader is listening" in result.stderr
    with pytest.raises(ReaderError, match="start the agent first"):
        inject(short_dir / "demo.sock", b"X\r")


def test_scan_test_shows_raw_verdict_and_reason(short_dir: Path) -> None:
    with pty_pair() as (master, path):
        config_path = short_dir / "config.toml"
        config_path.write_text(
            f'[[readers]]\nname = "front"\nkind = "serial"\nport = "{path}"\n'
            '[[readers]]\nname = "missing"\nkind = "serial"\nport = "/dev/ttyNOPE9"\n',
            encoding="utf-8",
        )
        with scan_test(config_path, 4) as process:
            assert process.stdout is not None
            lines = [process.stdout.readline(), process.stdout.readline()]
            assert lines[1].strip() == "front: ready", lines
            os.write(master, b"4006381333931\rCARD0001\r\x1b[31mRED1\r\x00\x01\r")
            output, errors = process.communicate(timeout=10)
    assert process.returncode == 0, errors
    rows = output.splitlines()
    assert "accepted plain: 4006381333931" in rows[0]
    assert "accepted loyalty: CARD0001" in rows[1]
    assert "\\x1b[31mRED1" in rows[2]
    assert "rejected: contains an escape sequence" in rows[2]
    assert "\\x00\\x01" in rows[3]
    assert "rejected: contains control characters" in rows[3]
    assert rows[4].startswith("accepted 2, repeats 0, rejected: ")
    assert "\x1b" not in output
    assert "\x00" not in output
    assert "/dev/ttyNOPE9" in errors  # the missing reader is reported, the other one worked


def test_a_second_agent_cannot_take_over_a_running_virtual_reader(short_dir: Path) -> None:
    config = VirtualReaderConfig(kind="virtual", name="demo", inject_socket=short_dir / "d.sock")

    async def scenario() -> None:
        first = VirtualReader(config)
        await first.open()
        try:
            with pytest.raises(ReaderError, match="another agent already runs"):
                await VirtualReader(config).open()
            await asyncio.to_thread(inject, config.socket_path, b"STILL-MINE\r")  # still served
        finally:
            await first.close()
        (short_dir / "d.sock").touch()  # a stale file left by a crash is simply replaced
        second = VirtualReader(config)
        await second.open()
        await second.close()

    run(scenario())


def test_scan_test_on_a_virtual_reader_sees_what_scan_sends(short_dir: Path) -> None:
    config_path = virtual_config(short_dir)
    with scan_test(config_path, 2) as process:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("scan now")
        assert process.stdout.readline().strip() == "demo: ready"
        for value in ("04:a2:3b:1c", "4006381333931"):
            sent = scan(config_path, value)
            assert sent.returncode == 0, sent.stderr
        output, errors = process.communicate(timeout=10)
    assert process.returncode == 0, errors
    rows = output.splitlines()
    assert rows[0].split() == ["demo", "04:a2:3b:1c", "accepted", "loyalty:", "04A23B1C"]
    assert rows[1].split() == ["demo", "4006381333931", "accepted", "plain:", "4006381333931"]
    assert not (short_dir / "demo.sock").exists()  # cleaned up on the way out


def test_scan_test_shows_the_raw_uid_and_its_canonical_form(short_dir: Path) -> None:
    """A reader sending the 8H10D decimal on a till whose accounts hold hex: the raw
    number and the hex the customer is looked up by."""
    with pty_pair() as (master, path):
        config_path = short_dir / "config.toml"
        config_path.write_text(
            '[[readers]]\nname = "gate"\nkind = "serial"\nuid_format = "decimal"\n'
            f'port = "{path}"\n'
            '[[readers]]\nname = "door"\nkind = "serial"\nuid_format = "wiegand26"\n'
            'port = "/dev/ttyNOPE9"\n',
            encoding="utf-8",
        )
        with scan_test(config_path, 2) as process:
            assert process.stdout is not None
            lines = [process.stdout.readline(), process.stdout.readline()]
            assert "gate (decimal UIDs, kept as hex)" in lines[0], lines
            assert lines[1].strip() == "gate: ready", lines
            os.write(master, b"0077740828\rCARD0001\r")
            output, errors = process.communicate(timeout=10)
    assert process.returncode == 0, errors
    rows = output.splitlines()
    assert "0077740828" in rows[0]
    assert "accepted loyalty: 04A23B1C (canonical hex of a decimal UID)" in rows[0]
    assert rows[1].endswith("accepted loyalty: CARD0001")  # no UID: as it came
