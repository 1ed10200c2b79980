"""The real serial driver on real pseudo-terminals: what a scanner sends is what the till gets."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from drivers.serial_reader import SerialReader
from drivers.virtual_reader import VirtualSerialPort
from register_agent.errors import ReaderError
from register_agent.readers.scans import Reason, Rejection, Repeat, Scan
from tests.support.reader_support import ReaderBench, pty_pair, run, serial_config, wait_until

pytestmark = pytest.mark.timeout(15)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short path: unix socket paths must stay under 108 bytes."""
    with tempfile.TemporaryDirectory(prefix="ra-") as name:
        yield Path(name)


def values(outcomes: Sequence[object]) -> list[str]:
    return [o.value for o in outcomes if isinstance(o, Scan)]


def test_cr_lf_and_crlf_each_end_one_scan() -> None:
    async def scenario() -> None:
        with pty_pair() as (master, path):
            async with ReaderBench([SerialReader(serial_config("front", path))]) as bench:
                await bench.ready()
                os.write(master, b"CARD0001\rCARD0002\nCARD0003\r\n")
                os.write(master, b"CARD0004\r\n")
                outcomes = await bench.take(4)
                assert values(outcomes) == ["CARD0001", "CARD0002", "CARD0003", "CARD0004"]
                assert [o.kind for o in outcomes if isinstance(o, Scan)] == ["loyalty"] * 4
                assert bench.outcomes.empty()  # CRLF made no empty extra scan

    run(scenario())


def test_prefix_and_suffix_are_stripped() -> None:
    async def scenario() -> None:
        with pty_pair() as (master, path):
            config = serial_config("front", path, prefix="\x02", suffix="\x03")
            bench = ReaderBench([SerialReader(config)], reader_configs=[config])
            async with bench:
                await bench.ready()
                os.write(master, b"\x02CUST-4711\x03\r")
                os.write(master, b"CUST-4712\x03\r")  # prefix missing: still read
                assert values(await bench.take(2)) == ["CUST-4711", "CUST-4712"]

    run(scenario())


HOSTILE = [
    (b"AB\x00CD1234", Reason.CONTROL_CHARACTERS),  # NUL
    (b"\x1b[31mRED12345", Reason.ESCAPE_SEQUENCE),  # ANSI colour
    (b"\x1b]0;owned\x07TITLE123", Reason.ESCAPE_SEQUENCE),  # terminal title
    (b"\x1dGS123456", Reason.CONTROL_CHARACTERS),  # GS (GS1 separator)
    (b"\x10\x04\x01DLE12345", Reason.CONTROL_CHARACTERS),  # DLE EOT: a printer query
    (b"A" * 10 * 1024, Reason.TOO_LONG),
    (b"\xff\xfeABCD1234", Reason.INVALID_UTF8),
    ("\u202eEVIL1234".encode(), Reason.CONTROL_CHARACTERS),  # right-to-left override
    (b"AB", Reason.TOO_SHORT),
    (b"CARD;1234", Reason.NOT_ALLOWED),
]


def test_hostile_input_is_rejected_with_its_reason_and_reading_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        with pty_pair() as (master, path):
            async with ReaderBench([SerialReader(serial_config("front", path))]) as bench:
                await bench.ready()
                for data, _ in HOSTILE:
                    os.write(master, data + b"\r")
                os.write(master, b"GOOD1234\r")
                outcomes = await bench.take(len(HOSTILE) + 1)
                reasons = [o.reason for o in outcomes if isinstance(o, Rejection)]
                assert reasons == [reason for _, reason in HOSTILE]  # one each: 10 KB is one
                assert values(outcomes) == ["GOOD1234"]
                assert bench.pipeline.rejected[Reason.CONTROL_CHARACTERS] == 4
                assert bench.pipeline.rejected[Reason.ESCAPE_SEQUENCE] == 2

    run(scenario())
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "scan rejected, contains an escape sequence" in logged
    for forbidden in ("\x00", "\x1b", "\x1d", "\x10", "\u202e", "RED12345", "EVIL1234", "AAAAA"):
        assert forbidden not in logged


def test_the_same_card_on_two_readers_within_the_window_is_one_scan() -> None:
    now = [100.0]

    async def scenario() -> None:
        with pty_pair() as (master_a, path_a), pty_pair() as (master_b, path_b):
            readers = [
                SerialReader(serial_config("counter", path_a)),
                SerialReader(serial_config("nfc", path_b)),
            ]
            async with ReaderBench(readers, clock=lambda: now[0]) as bench:
                await bench.ready()
                os.write(master_a, b"04:a2:3b:1c:5d:6e:80\r")  # an NFC UID, two spellings
                first = await bench.next()
                os.write(master_b, b"04A23B1C5D6E80\r\n")
                second = await bench.next()
                now[0] += 2.5
                os.write(master_b, b"04a23b1c5d6e80\n")
                third = await bench.next()
        assert isinstance(first, Scan)
        assert (first.value, first.reader, first.kind) == ("04A23B1C5D6E80", "counter", "loyalty")
        assert isinstance(second, Repeat)
        assert second.reader == "nfc"
        assert isinstance(third, Scan)
        assert third.value == "04A23B1C5D6E80"

    run(scenario())


def test_an_unplugged_reader_is_reported_once_and_read_again_when_back(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = VirtualSerialPort(short_dir / "scanner.tty")

    async def scenario() -> None:
        port.plug()
        reader = SerialReader(
            serial_config("front", str(port.link)), first_retry_s=0.02, max_retry_s=0.1
        )
        async with ReaderBench([reader]) as bench:
            await bench.ready()
            port.write(b"BEFORE01\r")
            assert values([await bench.next()]) == ["BEFORE01"]
            port.unplug()
            await wait_until(lambda: reader.status().state == "down")
            assert str(port.link) in reader.status().detail
            await wait_until(lambda: _debug_retries(caplog) >= 3)  # it kept trying, quietly
            port.plug()
            await wait_until(lambda: reader.status().state == "ok")
            port.write(b"AFTER002\r")
            assert values([await bench.next()]) == ["AFTER002"]
        port.unplug()

    run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    lost = [message for message in warnings if "disconnected" in message]
    assert len(lost) == 1
    assert str(port.link) in lost[0]
    assert any("is back" in message for message in warnings)
    # a pty has no DTR line: the driver's guarded modem call shrugged, twice (open, reopen)
    assert sum("no modem lines" in r.getMessage() for r in caplog.records) == 2


def _debug_retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("still away" in r.getMessage() for r in caplog.records)


def test_a_reader_without_terminator_is_cut_by_the_quiet_gap() -> None:
    async def scenario() -> None:
        with pty_pair() as (master, path):
            config = serial_config("nfc", path, terminator="none", inter_char_timeout_s=0.05)
            async with ReaderBench([SerialReader(config)]) as bench:
                await bench.ready()
                os.write(master, b"NOTERM01")
                first = await bench.next()
                os.write(master, b"NOTERM02")
                second = await bench.next()
        assert values([first, second]) == ["NOTERM01", "NOTERM02"]

    run(scenario())


def test_a_failing_reader_disables_only_itself(caplog: pytest.LogCaptureFixture) -> None:
    missing = "/dev/serial/by-id/usb-No_Such_Scanner-if00"

    async def scenario() -> None:
        with pty_pair() as (master, path):
            broken = SerialReader(serial_config("broken", missing))
            working = SerialReader(serial_config("front", path))
            async with ReaderBench([broken, working]) as bench:
                await bench.ready("front")
                os.write(master, b"CARD0001\r")
                assert values([await bench.next()]) == ["CARD0001"]
                assert broken.status().state == "down"
                assert "plug the reader in" in broken.status().detail

    run(scenario())
    about_broken = [r for r in caplog.records if "broken" in r.getMessage()]
    assert len(about_broken) == 1  # reported once, though it is retried
    assert missing in about_broken[0].getMessage()


def test_open_errors_name_the_port_the_cause_and_the_fix() -> None:
    async def scenario() -> None:
        with pytest.raises(ReaderError, match=r"cannot open /dev/nothing-here.*plug the reader in"):
            await SerialReader(serial_config("front", "/dev/nothing-here")).open()
        with pty_pair() as (_master, path):
            first = SerialReader(serial_config("front", path))
            await first.open()
            try:
                with pytest.raises(ReaderError, match="another program holds the port"):
                    await SerialReader(serial_config("again", path)).open()
            finally:
                await first.close()

    run(scenario())


def test_a_garbled_line_suggests_checking_the_line_settings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        with pty_pair() as (master, path):
            async with ReaderBench([SerialReader(serial_config("front", path))]) as bench:
                await bench.ready()
                # what 115200 baud looks like to a port set to 9600: bytes, not text
                for noise in (b"\xf8\x80\xfe\x00x", b"\x80\x80\xf0\xff", b"\xe0\x1c\x86\x00"):
                    os.write(master, noise + b"\r")
                await bench.take(3)

    run(scenario())
    hints = [r.getMessage() for r in caplog.records if "check baudrate" in r.getMessage()]
    assert len(hints) == 1
    assert hints[0].startswith("reader front: 3 unreadable scans in a row")


def test_a_tty_is_read_on_the_event_loop_not_through_the_readers_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A scan handed from a thread to the loop waits for two wake-ups a busy till delays;
    # the reader's thread is for opening and closing the port only.
    handed: list[str] = []
    run_on_thread = SerialReader._run

    async def recorded(self: SerialReader, call: object) -> object:
        handed.append(getattr(call, "__name__", repr(call)))
        return await run_on_thread(self, call)  # type: ignore[arg-type]

    monkeypatch.setattr(SerialReader, "_run", recorded)

    async def scenario() -> list[str]:
        with pty_pair() as (master, path):
            async with ReaderBench([SerialReader(serial_config("front", path))]) as bench:
                await bench.ready()
                scans = []
                for card in (b"LOOP0001\r", b"LOOP0002\r\n", b"LOOP0003\n"):
                    os.write(master, card)
                    scans.append(await bench.next())
                return values(scans)

    assert run(scenario()) == ["LOOP0001", "LOOP0002", "LOOP0003"]
    assert "_read_chunk" not in handed
    assert handed[0] == "_open_port"
