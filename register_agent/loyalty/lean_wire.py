"""One connection of the lean transport (``lean_transport.py``): an asyncio protocol that
keeps the received bytes and waits for the socket to take a write (``Wire``), and h11's
state machine over it for one request and its whole answer at a time (``Connection``).
Every failure leaves as an httpx exception; the trace event that says a request's bytes
started to leave is reported just before they are handed to the socket.
"""

from __future__ import annotations

import asyncio
import select
import time

import h11
import httpx

#: an idle connection older than this is closed rather than reused (httpx's own default)
KEEPALIVE_EXPIRY_S = 5.0
_SEND_STARTED = "http11.send_request_headers.started"


class Wire(asyncio.Protocol):
    """The bytes of one connection: a receive buffer, EOF, and writes waiting for room."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.lost: Exception | None = None
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        # any byte not taken by the socket at once pauses writing, so a request's write
        # can wait for the kernel to take it all (the write timeout) and see it fail
        transport.set_write_buffer_limits(high=0)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.lost = exc
        self._wake_reader()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def _wake_reader(self) -> None:
        if self._readable is not None and not self._readable.done():
            self._readable.set_result(None)

    def unwritten(self) -> bool:
        """Whether bytes written still wait for the socket to take them. Only while bytes
        are buffered: a TLS transport pauses and resumes writing as its own reads go by, so
        a paused state alone does not mean the request is still waiting to leave."""
        transport = self.transport
        return (
            self._writable is not None
            and not self._writable.done()
            and transport is not None
            and transport.get_write_buffer_size() > 0
        )

    async def written(self) -> None:
        """Returns once the socket took every byte written; raises if the connection died."""
        if self.unwritten():
            assert self._writable is not None
            await self._writable
        if self.lost is not None:
            raise self.lost

    async def read(self) -> bytes:
        """The bytes received so far, waiting for some; b"" once the server closed."""
        if not self.buffer and not self.eof:
            self._readable = self._loop.create_future()
            await self._readable
        if not self.buffer and self.lost is not None:
            raise self.lost
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


class Connection:
    """One HTTP/1.1 connection: h11's state machine over a ``Wire``."""

    def __init__(self, wire: Wire) -> None:
        self._wire = wire
        self._h11 = h11.Connection(our_role=h11.CLIENT)
        self._idle_since = time.monotonic()
        #: the socket's poll, made at the first reuse and kept: a new one for every request
        #: was a share of a delivery's CPU (the descriptor stays the connection's till it ends)
        self._poll: select.poll | None = None

    def fit_to_reuse(self) -> bool:
        """Whether an idle connection may carry a request: not expired, and nothing came
        from the server while idle (a FIN, a TLS close_notify, stray bytes). The socket is
        polled too: the event loop may not have read what already arrived."""
        wire = self._wire
        if time.monotonic() - self._idle_since > KEEPALIVE_EXPIRY_S:
            return False
        if wire.eof or wire.buffer or wire.transport is None or wire.transport.is_closing():
            return False
        if self._poll is None:
            sock = wire.transport.get_extra_info("socket")
            if sock is None:
                return False
            self._poll = select.poll()  # not select(): a descriptor may be above FD_SETSIZE
            self._poll.register(sock.fileno(), select.POLLIN)
        return not self._poll.poll(0)

    def reusable(self) -> bool:
        """After an exchange: both sides done and neither asked to close."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            self._idle_since = time.monotonic()
            return True
        return False

    def close(self) -> None:
        if self._wire.transport is not None:
            self._wire.transport.close()

    async def exchange(
        self, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> httpx.Response:
        body = await request.aread()
        target = request.url.raw_path
        try:
            head = h11.Request(method=request.method, target=target, headers=request.headers.raw)
            data = self._h11.send(head) or b""
            if body:
                data += self._h11.send(h11.Data(data=body)) or b""
            data += self._h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            # h11's words quote the offending header, which may be the Authorization
            # header with the key: never pass them on (they would reach the log)
            raise httpx.LocalProtocolError(
                "the request is not valid HTTP: a header value with a line break or "
                "leading or trailing spaces (check api_key and partner_id)",
                request=request,
            ) from None
        trace = request.extensions.get("trace")
        if trace is not None:
            await trace(_SEND_STARTED, {"request": request})
        await self._write(data, timeouts.get("write"), request)
        return await self._receive(request, timeouts.get("read"))

    async def _write(self, data: bytes, timeout: float | None, request: httpx.Request) -> None:
        wire = self._wire
        assert wire.transport is not None
        try:
            wire.transport.write(data)  # the whole request in one send: one packet, one wake-up
            if wire.unwritten():  # a timer only for a write that waits (most never do)
                async with asyncio.timeout(timeout):
                    await wire.written()
            else:
                await wire.written()  # raises if the connection died meanwhile
        except TimeoutError as exc:
            raise httpx.WriteTimeout("timed out writing the request", request=request) from exc
        except Exception as exc:  # whatever ended the connection (OSError, an SSL error...)
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc

    async def _receive(self, request: httpx.Request, timeout: float | None) -> httpx.Response:
        status, reason = 0, b""
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from exc
            if event is h11.NEED_DATA:
                self._h11.receive_data(await self._read(request, timeout))
            elif isinstance(event, h11.Response):
                status, reason, headers = event.status_code, event.reason, list(event.headers)
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            # an InformationalResponse (100 Continue) is passed over: the final one follows
        response = httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(b"".join(chunks)),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
            request=request,
        )
        # read here, at once: the body is in hand, and httpx's own reading decodes it (gzip)
        # and closes the response; its asynchronous reading of a stream cost a share of a
        # delivery's CPU for bytes already received
        response.read()
        return response

    async def _read(self, request: httpx.Request, timeout: float | None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._wire.read()
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out reading the answer", request=request) from exc
        except Exception as exc:  # whatever ended the connection, as an httpx error: the
            # outcome table reads only those (anything else would escape it)
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
