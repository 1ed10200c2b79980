"""The listening side of the virtual printer (``virtual_printer.py``): a threaded TCP server
on loopback, IPv4 or IPv6, each of whose connections is one print job the printer serves,
and its control port of line commands.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from typing import Protocol

DLE_EOT = b"\x10\x04"


class Owner(Protocol):
    """The printer behind the server."""

    def serve(self, connection: socket.socket) -> None:
        """Take one job: what arrives on ``connection`` until it closes."""

    def control(self, command: str) -> str:
        """Answer one line of the control port."""


class _JobHandler(socketserver.BaseRequestHandler):
    server: LoopbackServer

    def handle(self) -> None:
        self.server.owner.serve(self.request)


class ControlHandler(socketserver.StreamRequestHandler):
    server: LoopbackServer

    def handle(self) -> None:
        for line in self.rfile:
            reply = self.server.owner.control(line.decode("ascii", "replace"))
            self.wfile.write(reply.encode("ascii") + b"\n")


class LoopbackServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        owner: Owner,
        handler: type[socketserver.BaseRequestHandler] = _JobHandler,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.owner = owner
        super().__init__(address, handler)

    def serve_in_thread(self, name: str) -> None:
        thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits up to one poll interval
            name=name,
            daemon=True,
        )
        thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def close_quietly(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


def split_queries(data: bytes) -> tuple[bytes, bytes, list[int]]:
    """A job's bytes read so far without its ``DLE EOT n`` status queries: (job bytes, an
    incomplete query to carry into the next read, the queries ``n``)."""
    payload = bytearray()
    queries: list[int] = []
    start = 0
    while (found := data.find(DLE_EOT, start)) != -1 and found + 2 < len(data):
        payload += data[start:found]
        queries.append(data[found + 2])
        start = found + 3
    rest = data[start:]
    for tail in (DLE_EOT, DLE_EOT[:1]):
        if rest.endswith(tail):
            return bytes(payload + rest[: -len(tail)]), tail, queries
    return bytes(payload + rest), b"", queries
