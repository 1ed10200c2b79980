"""The journal handler against a real Unix datagram socket playing journald: each record is
one datagram in the native format, with the context as fields, masked like every line; a
value with newlines in the binary-safe form; a record too big for a datagram in a memfd;
no socket, the line goes to stderr."""

from __future__ import annotations

import array
import io
import logging
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from register_agent.common import logs
from register_agent.common.journald import JournalHandler, encode
from register_agent.common.logs import configure, log_context, remember_card, remember_secrets

CARD = "04A1B2C3D4E5F6"
SECRET = "an-api-key-never-logged"


def parse(datagram: bytes) -> dict[str, str]:
    """The fields of one native-protocol datagram, as journald reads them."""
    fields: dict[str, str] = {}
    rest = datagram
    while rest:
        line, _, after = rest.partition(b"\n")
        if b"=" in line:
            key, _, value = line.partition(b"=")
            fields[key.decode()] = value.decode()
            rest = after
            continue
        size = struct.unpack("<Q", after[:8])[0]
        fields[line.decode()] = after[8 : 8 + size].decode()
        assert after[8 + size : 9 + size] == b"\n"
        rest = after[9 + size :]
    return fields


class FakeJournald:
    """A bound AF_UNIX datagram socket; ``next()`` reads one entry, from a memfd too."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(path))
        self.socket.settimeout(5)

    def next(self) -> tuple[dict[str, str], bool]:
        """(the entry's fields, whether it came in a memfd)."""
        fds = array.array("i")
        data, ancillary, _, _ = self.socket.recvmsg(1 << 20, socket.CMSG_SPACE(fds.itemsize))
        for level, kind, payload in ancillary:
            if (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        if fds:
            with os.fdopen(fds[0], "rb") as memfd:
                memfd.seek(0)
                return parse(memfd.read()), True
        return parse(data), False


@pytest.fixture
def journald(tmp_path: Path) -> Iterator[FakeJournald]:
    fake = FakeJournald(tmp_path / "socket")
    yield fake
    fake.socket.close()


@pytest.fixture
def logger(journald: FakeJournald) -> Iterator[logging.Logger]:
    remember_secrets(SECRET)
    remember_card(CARD)
    configure("journal", logging.DEBUG, journal_socket=journald.path, stream=io.StringIO())
    yield logging.getLogger("register_agent.test")
    configure("text", logging.INFO)


def test_a_record_is_one_entry_with_its_fields(
    journald: FakeJournald, logger: logging.Logger
) -> None:
    with log_context(sale_id="s-1", operation_id="op-7", device="counter"):
        logger.warning("card %s refused with key %s", CARD, SECRET)
    fields, in_memfd = journald.next()
    assert not in_memfd
    assert (
        fields["MESSAGE"]
        == f"card ******{CARD[-4:]} refused with key [secret]".replace(
            "******", "*" * (len(CARD) - 4)
        )
        or CARD not in fields["MESSAGE"]
    )
    assert CARD not in str(fields)
    assert SECRET not in str(fields)
    assert fields["PRIORITY"] == "4"
    assert (fields["SALE_ID"], fields["OPERATION_ID"], fields["DEVICE"]) == (
        "s-1",
        "op-7",
        "counter",
    )
    assert fields["SYSLOG_IDENTIFIER"] == "register-agent"
    assert fields["CODE_FILE"] == __file__
    assert fields["CODE_FUNC"] == "test_a_record_is_one_entry_with_its_fields"
    assert int(fields["CODE_LINE"]) > 0
    assert fields["LOGGER"] == "register_agent.test"


def test_a_field_is_there_only_when_the_record_concerns_it(
    journald: FakeJournald, logger: logging.Logger
) -> None:
    logger.info("nothing in particular")
    fields, _ = journald.next()
    assert fields["PRIORITY"] == "6"
    assert not {"SALE_ID", "OPERATION_ID", "DEVICE"} & set(fields)


def test_a_traceback_takes_the_binary_safe_form_and_is_masked(
    journald: FakeJournald, logger: logging.Logger
) -> None:
    try:
        _fail(f"bad card {CARD}\nsecond line")
    except ValueError:
        with log_context(sale_id="s-2"):
            logger.exception("sending failed")
    raw = journald.socket.recv(1 << 20)
    assert b"\nMESSAGE\n" in b"\n" + raw  # the length form, not MESSAGE=
    fields = parse(raw)
    assert fields["MESSAGE"].startswith("sending failed\nTraceback")
    assert "second line" in fields["MESSAGE"]
    assert CARD not in fields["MESSAGE"]
    assert fields["PRIORITY"] == "3"
    assert fields["SALE_ID"] == "s-2"


def test_a_record_too_big_for_a_datagram_goes_in_a_memfd(
    journald: FakeJournald, logger: logging.Logger
) -> None:
    journald.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    big = "x" * (1 << 20)  # past the datagram size a unix socket takes
    logger.info("big: %s", big)
    fields, in_memfd = journald.next()
    assert in_memfd
    assert fields["MESSAGE"] == f"big: {big}"


def test_without_the_socket_lines_go_to_stderr(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure("journal", logging.INFO, journal_socket=tmp_path / "absent", stream=stream)
    try:
        with log_context(sale_id="s-3"):
            logging.getLogger("register_agent.test").info("still told")
    finally:
        configure("text", logging.INFO)
    assert "still told [sale=s-3]" in stream.getvalue()


def test_a_socket_gone_after_start_falls_back_to_stderr(tmp_path: Path) -> None:
    fake = FakeJournald(tmp_path / "socket")
    stream = io.StringIO()
    fallback = logging.StreamHandler(stream)
    fallback.setFormatter(logs.TextFormatter())
    handler = JournalHandler(logs.masked, path=fake.path, fallback=fallback)
    fake.socket.close()
    fake.path.unlink()  # journald restarting
    record = logging.LogRecord("register_agent.test", logging.ERROR, __file__, 1, "lost?", (), None)
    handler.handle(record)
    handler.close()
    assert "lost?" in stream.getvalue()


def _fail(message: str) -> None:
    raise ValueError(message)


def test_the_encoding_of_a_value_with_a_newline() -> None:
    assert encode([("A", "1"), ("B", "x\ny")]) == b"A=1\nB\n" + struct.pack("<Q", 3) + b"x\ny\n"


def test_auto_under_systemd_sends_entries_to_the_journal(
    journald: FakeJournald, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stderr is journald's stream ($JOURNAL_STREAM names it): the native protocol."""
    with (tmp_path / "stream").open("w+") as stream:
        status = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{status.st_dev}:{status.st_ino}")
        configure("auto", logging.INFO, stream=stream, journal_socket=journald.path)
        try:
            with log_context(sale_id="s-4"):
                logging.getLogger("register_agent.test").info("to the journal")
        finally:
            configure("text", logging.INFO)
        stream.seek(0)
        assert stream.read() == ""
    fields, _ = journald.next()
    assert (fields["MESSAGE"], fields["SALE_ID"]) == ("to the journal", "s-4")
