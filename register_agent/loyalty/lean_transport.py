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
Register API's answers are small JSON documents. Content-Encoding stays httpx's job: its
response reads and decodes the body inside the exchange, which fails as a whole (and closes
its connection) when the body does not decode. Proxies are not spoken here: ``for_url``
returns None when the environment names one for the URL, and the caller keeps httpx's own
transport.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

import httpx

from register_agent.loyalty import server_clock
from register_agent.loyalty.lean_wire import Connection, Wire

log = logging.getLogger(__name__)

#: idle connections kept per origin; the outbox serves a few customers side by side
MAX_IDLE = 8

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
    if not response.is_closed:  # this one's answers come read whole; a test's may stream
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
        self._idle: dict[Origin, list[Connection]] = {}
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

    def _reuse(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.fit_to_reuse():
                return connection
            connection.close()
        return None

    async def _connect(
        self, origin: Origin, timeouts: dict[str, float | None], request: httpx.Request
    ) -> Connection:
        scheme, host, port = origin
        tls = scheme == b"https"
        if tls and self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeouts.get("connect")):
                _, wire = await loop.create_connection(
                    lambda: Wire(loop),
                    host.decode("ascii"),
                    port,
                    ssl=self._ssl if tls else None,
                    server_hostname=host.decode("ascii") if tls else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("timed out connecting", request=request) from exc
        except OSError as exc:  # refused, unreachable, DNS (socket.gaierror), TLS (SSLError)
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return Connection(wire)

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
