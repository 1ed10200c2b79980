"""The agent's own HTTP/1.1 transport under ``http.ApiHttp``'s ``httpx.AsyncClient``: h11 on
an asyncio protocol with a small keep-alive pool per origin. httpx's default stack (httpcore,
anyio) spent more CPU per request than the rest of the outbox's delivery together; this one
does only what the agent's calls need, and keeps what the exactly-once path relies on:

- the trace event ``http11.send_request_headers.started`` just before the first byte of a
  request is handed to the socket (``call_watch.SendWatch`` reads it: nothing sent means
  "not applied", anything after it "may have applied");
- failures as httpx's exceptions (``ConnectError``, ``ConnectTimeout``, ``WriteError``,
  ``WriteTimeout``, ``ReadError``, ``ReadTimeout``, ``RemoteProtocolError``), so ``outcomes``
  and ``retries`` read them as before;
- a pooled connection the server closed (or wrote to) while idle is dropped before a
  request is written on it, so a POST never goes out on a connection already dead.

Bodies (Content-Length or chunked) are read whole before the response is returned: the
Register API's answers are small JSON documents. Content-Encoding stays httpx's job (the
response is handed over raw). Proxies are not spoken here: ``for_url`` returns None when
the environment names one for the URL, and the caller keeps httpx's own transport.
"""

from __future__ import annotations

import asyncio
import logging
import select
import ssl
import time
from collections.abc import AsyncIterator

import h11
import httpx

from register_agent.loyalty import server_clock

log = logging.getLogger(__name__)

#: an idle connection older than this is closed rather than reused (httpx's own default)
KEEPALIVE_EXPIRY_S = 5.0
#: idle connections kept per origin; the outbox serves a few customers side by side
MAX_IDLE = 8
_SEND_STARTED = "http11.send_request_headers.started"

Origin = tuple[bytes, bytes, int]


def for_url(base_url: str) -> LeanTransport | None:
    """The transport for ``base_url``, or None where the environment sets a proxy for it
    (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY minus NO_PROXY, by httpx's own matching rules)."""
    url = httpx.URL(base_url)
    try:
        from httpx._utils import URLPattern, get_environment_proxies  # noqa: PLC0415
    except ImportError:  # a newer httpx moved them: stay on its transport, which is right
        return None
    proxies = get_environment_proxies()
    # the most specific pattern first, as httpx's client picks its mounts
    for pattern in sorted(URLPattern(key) for key in proxies):
        if pattern.matches(url):
            return None if proxies[pattern.pattern] is not None else LeanTransport(url.scheme)
    return LeanTransport(url.scheme)


async def send(transport: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    """``request`` straight through ``transport`` (this one, or a test's), its answer read
    whole. The client's layers around a transport (authentication, redirects, cookies,
    event hooks, an INFO line per request) cost more CPU than the request itself and do
    nothing for the agent's calls (a bearer key, no redirects followed, no cookies); the
    server's clock is read here instead of by a hook."""
    response = await transport.handle_async_request(request)
    response.request = request
    try:
        await response.aread()
    finally:
        await response.aclose()
    server_clock.observe(response)
    # DEBUG, and the path only: a query may hold a card value; at INFO a line per request
    # was a share of the outbox's CPU
    log.debug("%s %s: HTTP %d", request.method, request.url.path, response.status_code)
    return response


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 requests over pooled keep-alive connections, TLS verified always."""

    def __init__(self, scheme: str = "http", *, ssl_context: ssl.SSLContext | None = None):
        # the very context httpx would build (certifi, or SSL_CERT_FILE / SSL_CERT_DIR),
        # made once up front rather than in the first call's connect time
        self._ssl = ssl_context
        if self._ssl is None and scheme == "https":
            self._ssl = httpx.create_ssl_context()
        self._idle: dict[Origin, list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.raw_scheme, url.raw_host, url.port or (443 if url.scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        connection = self._reuse(origin) or await self._connect(origin, timeouts, request)
        try:
            response = await connection.exchange(request, timeouts)
        except BaseException:
            connection.close()  # a cancelled or failed exchange leaves the wire unusable
            raise
        if connection.reusable() and not self._closed:
            idle = self._idle.setdefault(origin, [])
            idle.append(connection)
            if len(idle) > MAX_IDLE:
                idle.pop(0).close()
        else:
            connection.close()
        return response

    def _reuse(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.fit_to_reuse():
                return connection
            connection.close()
        return None

    async def _connect(
        self, origin: Origin, timeouts: dict[str, float | None], request: httpx.Request
    ) -> _Connection:
        scheme, host, port = origin
        tls = scheme == b"https"
        if tls and self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeouts.get("connect")):
                _, wire = await loop.create_connection(
                    lambda: _Wire(loop),
                    host.decode("ascii"),
                    port,
                    ssl=self._ssl if tls else None,
                    server_hostname=host.decode("ascii") if tls else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("timed out connecting", request=request) from exc
        except OSError as exc:  # refused, unreachable, DNS (socket.gaierror), TLS (SSLError)
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return _Connection(wire)

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


class _Body(httpx.AsyncByteStream):
    """A response body already read whole, handed to httpx raw (it decodes gzip)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body


class _Wire(asyncio.Protocol):
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

    async def written(self) -> None:
        """Returns once the socket took every byte written; raises if the connection died."""
        if self._writable is not None and not self._writable.done():
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


class _Connection:
    """One HTTP/1.1 connection: h11's state machine over a ``_Wire``."""

    def __init__(self, wire: _Wire) -> None:
        self._wire = wire
        self._h11 = h11.Connection(our_role=h11.CLIENT)
        self._idle_since = time.monotonic()

    def fit_to_reuse(self) -> bool:
        """Whether an idle connection may carry a request: not expired, and nothing came
        from the server while idle (a FIN, a TLS close_notify, stray bytes). The socket is
        polled too: the event loop may not have read what already arrived."""
        wire = self._wire
        if time.monotonic() - self._idle_since > KEEPALIVE_EXPIRY_S:
            return False
        if wire.eof or wire.buffer or wire.transport is None or wire.transport.is_closing():
            return False
        sock = wire.transport.get_extra_info("socket")
        if sock is None:
            return False
        poll = select.poll()  # not select(): a descriptor may be above FD_SETSIZE
        poll.register(sock.fileno(), select.POLLIN)
        return not poll.poll(0)

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
        head = h11.Request(method=request.method, target=target, headers=request.headers.raw)
        try:
            data = self._h11.send(head) or b""
            if body:
                data += self._h11.send(h11.Data(data=body)) or b""
            data += self._h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
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
            async with asyncio.timeout(timeout):
                await wire.written()
        except TimeoutError as exc:
            raise httpx.WriteTimeout("timed out writing the request", request=request) from exc
        except OSError as exc:
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
        return httpx.Response(
            status,
            headers=headers,
            stream=_Body(b"".join(chunks)),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
            request=request,
        )

    async def _read(self, request: httpx.Request, timeout: float | None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._wire.read()
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out reading the answer", request=request) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
