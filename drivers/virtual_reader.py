"""The virtual serial reader: a pseudo-terminal that the real serial driver reads like a port.

The device end is published as a stable symlink (like ``/dev/serial/by-id/...``); scans
go in at the other end, from the tests or from ``register-agent scan VALUE`` through a
small unix socket. It can be unplugged and plugged in again, to exercise reconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import tty
from collections.abc import AsyncIterator
from pathlib import Path

from drivers.serial_reader import SerialReader
from register_agent.config import SerialReaderConfig, VirtualReaderConfig
from register_agent.errors import ReaderError
from register_agent.readers.reader import DeviceStatus, RawScan

log = logging.getLogger(__name__)

#: What one injection may carry: generous for hostile-input tests, bounded all the same.
MAX_INJECTION_BYTES = 64 * 1024
_ACK = b"ok\n"
#: how long a closing reader waits for the answers of scans already delivered
_ANSWER_GRACE_S = 1.0


class VirtualSerialPort:
    """A pty pair whose device end is reachable at ``link`` while it is plugged in."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self._master: int | None = None
        self._slave: int | None = None

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def plug(self) -> None:
        if self.plugged:
            return
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR-to-LF: bytes arrive as a scanner sent them
        # Holding the slave open keeps scans written before the reader opens it.
        self._master, self._slave = master, slave
        temporary = self.link.with_name(self.link.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(os.ttyname(slave))
        temporary.replace(self.link)  # atomic: a reader never sees a half-made link

    def unplug(self) -> None:
        """Like pulling the USB cable: the reader's next read fails, the path disappears."""
        self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def write(self, data: bytes) -> None:
        """Send bytes as the scanner would (blocking: call off the event loop)."""
        if self._master is None:
            raise ReaderError("the virtual reader is unplugged; plug it in first")
        view = memoryview(data)
        while view:
            view = view[os.write(self._master, view) :]


class VirtualReader:
    """A ``Reader`` for ``kind = "virtual"``: a virtual port read by the real serial driver."""

    def __init__(self, config: VirtualReaderConfig, *, first_retry_s: float = 0.1) -> None:
        self._socket_path = config.socket_path
        self.port = VirtualSerialPort(self._socket_path.with_suffix(".tty"))
        serial_config = SerialReaderConfig(
            kind="serial",
            name=config.name,
            port=str(self.port.link),
            prefix=config.prefix,
            suffix=config.suffix,
            exclusive=True,
        )
        self._serial = SerialReader(serial_config, first_retry_s=first_retry_s, max_retry_s=1.0)
        self._server: asyncio.Server | None = None
        #: injections being answered: a close lets them send their answer first
        self._answering: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return self._serial.name

    @property
    def socket_path(self) -> Path:
        return self._socket_path

    def status(self) -> DeviceStatus:
        return self._serial.status()

    async def open(self) -> None:
        try:
            _private_directory(self._socket_path.parent)
            _claim(self._socket_path)
            self.port.plug()
            self._server = await asyncio.start_unix_server(self._inject, path=self._socket_path)
        except OSError as exc:
            await self._teardown()
            raise ReaderError(
                f"virtual reader {self.name}: cannot listen at {self._socket_path}: {exc}; "
                "set inject_socket to a path in a directory the agent may write",
                device=self.name,
            ) from exc
        try:
            await self._serial.open()
        except ReaderError:
            await self._teardown()
            raise
        # not "`register-agent scan`": how the command is typed here (a path, or a name on
        # the PATH) is the caller's to say, and run --sandbox prints it in full
        log.info("virtual reader %s: scans come in at %s", self.name, self._socket_path)

    def __aiter__(self) -> AsyncIterator[RawScan]:
        return aiter(self._serial)

    async def close(self) -> None:
        await self._serial.close()
        await self._teardown()

    async def _teardown(self) -> None:
        if self._server is not None:
            self._server.close()
            # a scan already on the wire is answered: `register-agent scan` would otherwise
            # report an empty answer for a scan that was delivered (scan-test --count ends
            # the reader right after the last scan it waits for)
            if self._answering:
                await asyncio.wait(self._answering, timeout=_ANSWER_GRACE_S)
            await self._server.wait_closed()
            self._server = None
            self._socket_path.unlink(missing_ok=True)
        self.port.unplug()

    async def write(self, data: bytes) -> None:
        """Put bytes on the wire, as a scanner would (tests use this directly)."""
        await asyncio.to_thread(self.port.write, data)

    async def _inject(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
        try:
            data = await asyncio.wait_for(_read_to_end(reader), 5)
            await self.write(data)
            writer.write(_ACK)
        except (TimeoutError, ReaderError, OSError) as exc:
            writer.write(f"error: {exc}\n".encode())
        finally:
            with contextlib.suppress(OSError):
                await writer.drain()
            writer.close()


async def _read_to_end(reader: asyncio.StreamReader) -> bytes:
    data = bytearray()
    while chunk := await reader.read(MAX_INJECTION_BYTES - len(data)):
        data += chunk
        if len(data) >= MAX_INJECTION_BYTES:
            break
    return bytes(data)


def _claim(socket_path: Path) -> None:
    """Remove a stale socket; refuse one a running agent still answers on."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(socket_path))
        except OSError:
            socket_path.unlink(missing_ok=True)  # nobody home: left over from a crash
            return
    raise ReaderError(
        f"another agent already runs the virtual reader at {socket_path}; "
        "stop it, or give this one another inject_socket"
    )


def _private_directory(path: Path) -> None:
    """Create the socket directory for our user only; refuse one somebody else owns."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ReaderError(
            f"{path} belongs to another user or is writable by others; "
            "set readers.inject_socket to a path in a directory of your own"
        )


def inject(socket_path: Path, data: bytes, *, timeout_s: float = 3.0) -> None:
    """Send ``data`` to a running virtual reader (``register-agent scan``); raise if refused."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout_s)
            client.connect(str(socket_path))
            client.sendall(data)
            client.shutdown(socket.SHUT_WR)
            answer = client.recv(200)
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise ReaderError(
            f"no virtual reader is listening at {socket_path}; start the agent first "
            "(register-agent run --sandbox)"
        ) from exc
    except OSError as exc:
        raise ReaderError(f"virtual reader at {socket_path}: {exc}") from exc
    if answer != _ACK:
        raise ReaderError(f"virtual reader at {socket_path}: {answer.decode(errors='replace')}")
