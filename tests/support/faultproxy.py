"""A connection-level fault proxy for tests: sits between the agent and the sandbox.

toxiproxy cannot be installed here and the kernel has no netem, so this small asyncio
proxy does the job. Modes, switchable while it runs:

- ``pass``: forward both ways;
- ``reset``: accept, then reset the connection (RST) before anything is forwarded;
- ``blackhole``: accept and read, forward nothing, answer nothing;
- ``latency``: forward both ways, each chunk delayed by ``latency_s``;
- ``drop_response``: forward the request, throw the response away and close: the server
  did the work, the client never hears of it.

A mode applies to new connections; ``cut()`` resets the open ones (a client's keep-alive
connection would otherwise go on through a switch). ``pause()`` cuts them and stops
listening altogether (connections are refused: nothing was sent); ``resume()`` listens
again on the same port.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from dataclasses import dataclass, field

MODES = ("pass", "reset", "blackhole", "latency", "drop_response")


@dataclass
class ProxyCounters:
    connections: int = 0
    by_mode: dict[str, int] = field(default_factory=dict)


class FaultProxy:
    """Listens on 127.0.0.1 (free port) and forwards to ``target_host:target_port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.latency_s = 0.0
        self.counters = ProxyCounters()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.port: int = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str, *, latency_s: float = 0.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r}; one of {', '.join(MODES)}")
        self.mode, self.latency_s = mode, latency_s

    def cut(self) -> None:
        """Reset every open connection, so the next request meets the current mode."""

        async def reset_all() -> None:
            for writer in list(self._open):
                _reset(writer)

        asyncio.run_coroutine_threadsafe(reset_all(), self._loop).result(5)

    def pause(self) -> None:
        """Stop listening: a client's connection is refused, as when the API host is down."""

        async def stop() -> None:
            for writer in list(self._open):
                _reset(writer)
            if self._server is not None:
                self._server.close()
                self._server = None

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)

    def resume(self) -> None:
        """Listen again, on the same port."""

        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

        asyncio.run_coroutine_threadsafe(start(), self._loop).result(5)

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        self.counters.connections += 1
        self.counters.by_mode[mode] = self.counters.by_mode.get(mode, 0) + 1
        self._open.add(writer)
        try:
            if mode == "reset":
                _reset(writer)
            elif mode == "blackhole":
                while await reader.read(65536):
                    pass
            else:
                await self._forward(reader, writer, mode)
        except (ConnectionError, OSError):
            pass
        finally:
            self._open.discard(writer)
            writer.close()

    async def _forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mode: str
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        delay = self.latency_s if mode == "latency" else 0.0
        upstream = asyncio.create_task(_pipe(reader, up_writer, delay))
        if mode == "drop_response":
            # let the request through; when the answer starts to come, hang up on the client
            await up_reader.read(1)
            upstream.cancel()
            up_writer.close()
            _reset(writer)
            return
        downstream = asyncio.create_task(_pipe(up_reader, writer, delay))
        await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        upstream.cancel()
        downstream.cancel()
        up_writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, delay: float) -> None:
    while chunk := await source.read(65536):
        if delay:
            await asyncio.sleep(delay)
        sink.write(chunk)
        await sink.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST instead of a FIN: linger on, timeout zero."""
    raw = writer.get_extra_info("socket")
    if raw is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
