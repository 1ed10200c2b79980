"""Log records straight into the systemd journal through its native protocol, each with its
fields (``SALE_ID``, ``OPERATION_ID``, ``DEVICE``, ``PRIORITY``, ``CODE_*``), so that
``journalctl -u register-agent SALE_ID=...`` finds one sale's story. ``logs.configure``
picks this handler under systemd; everything else about the lines (masking, the context
fields) is the same as on a terminal.

Written here rather than taken from systemd-python: the protocol is a handful of lines
(systemd's "Native Journal Protocol" document), while systemd-python needs libsystemd's
headers and a compiler on every till and has no wheels. A datagram holds the fields as
``KEY=value`` lines; a value with a newline (a traceback) takes the binary-safe form
(``KEY``, newline, its length as 64-bit little-endian, the bytes, newline); a record too
big for one datagram goes in a sealed memfd whose descriptor is sent instead.
"""

from __future__ import annotations

import array
import errno
import fcntl
import logging
import os
import socket
import struct
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

#: where journald listens for native records (systemd-journald.service(8))
JOURNAL_SOCKET = Path("/run/systemd/journal/socket")
#: syslog priorities by logging level
PRIORITIES = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}
#: the record's context attributes and the journal field each becomes
CONTEXT_FIELDS = {"sale_id": "SALE_ID", "operation_id": "OPERATION_ID", "device": "DEVICE"}
_F_ADD_SEALS, _F_SEAL_ALL = 1033, 0x1 | 0x2 | 0x4 | 0x8  # seal, shrink, grow, write


def encode(fields: Iterable[tuple[str, str]]) -> bytes:
    """The datagram for these fields, in the journal's native format."""
    out = bytearray()
    for key, value in fields:
        data = value.encode("utf-8", errors="replace")
        if b"\n" in data:
            out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out)


class JournalHandler(logging.Handler):
    """Sends each record as one journal entry; ``mask`` is applied to every value.

    When the socket is gone (journald restarting) a record goes to stderr as text rather
    than being lost; the next one tries the journal again.
    """

    def __init__(
        self,
        mask: Callable[[str], str],
        *,
        path: Path = JOURNAL_SOCKET,
        identifier: str = "register-agent",
        fallback: logging.Handler | None = None,
    ) -> None:
        super().__init__()
        self._mask = mask
        self._path = str(path)
        self._identifier = identifier
        #: where a record goes when the journal's socket is not there
        self.fallback = fallback or logging.StreamHandler(sys.stderr)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def fields(self, record: logging.LogRecord) -> list[tuple[str, str]]:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        fields = [
            ("MESSAGE", message),
            ("PRIORITY", str(PRIORITIES.get(record.levelname, 6))),
            ("SYSLOG_IDENTIFIER", self._identifier),
            ("LOGGER", record.name),
            ("CODE_FILE", record.pathname),
            ("CODE_LINE", str(record.lineno)),
            ("CODE_FUNC", record.funcName),  # None for a record made by hand
        ]
        for attribute, field in CONTEXT_FIELDS.items():
            value = getattr(record, attribute, None)
            if value is not None:
                fields.append((field, str(value)))
        return [(key, self._mask(value)) for key, value in fields if value is not None]

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._send(encode(self.fields(record)))
        except OSError:
            self.fallback.handle(record)
        except Exception:  # noqa: BLE001 (a formatting bug: logging's own report, no crash)
            self.handleError(record)

    def _send(self, datagram: bytes) -> None:
        try:
            self._socket.sendto(datagram, self._path)
        except OSError as exc:
            if exc.errno not in (errno.EMSGSIZE, errno.ENOBUFS):
                raise
            self._send_in_memfd(datagram)

    def _send_in_memfd(self, datagram: bytes) -> None:
        """A record bigger than a datagram: journald reads it from a sealed memfd."""
        fd = os.memfd_create("register-agent-journal", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.write(fd, datagram)
            fcntl.fcntl(fd, _F_ADD_SEALS, _F_SEAL_ALL)
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
            self._socket.sendmsg([], rights, 0, self._path)
        finally:
            os.close(fd)

    def close(self) -> None:
        self._socket.close()
        super().close()
