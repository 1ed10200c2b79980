"""The agent's own HTTP/1.1 transport (``loyalty/lean_transport.py``) against real loopback
servers: keep-alive and ``Connection: close``, an idle connection the server closed,
chunked and gzip bodies, timeouts before and after the request left, TLS with a test CA,
and the environment's proxy, which keeps httpx's own transport."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from register_agent.errors import NotApplied, OutcomeUnknown
from register_agent.loyalty import Deadline, lean_transport
from register_agent.loyalty.http import RegisterHttp
from register_agent.loyalty.lean_transport import LeanTransport
from register_agent.loyalty.outcomes import Envelope
from tests.support.loyalty_support import api_config

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30), pytest.mark.usefixtures("no_retry_waits")]

Handler = Callable[["Peer"], Awaitable[None]]
BODY = b'{"data": {"balance": 3}, "meta": []}'


def answer(body: bytes = BODY, *, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n"
        + extra
        + b"\r\n"
        + body
    )


class Peer:
    """The server's side of one connection: reads whole requests, writes raw answers."""

    def __init__(self, server: Server, reader: asyncio.StreamReader, writer: Any) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        self.requests: list[bytes] = []

    async def request(self) -> bytes:
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        whole = head + await self.reader.readexactly(length)
        self.requests.append(whole)
        return whole

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


class Server:
    """A loopback server running ``handler`` per connection; keeps every peer."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.peers: list[Peer] = []
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(self, reader, writer)
        self.peers.append(peer)
        try:
            await self.handler(peer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    started: list[Server] = []

    async def start(handler: Handler, tls: ssl.SSLContext | None = None) -> Server:
        server = Server(handler)
        server.server = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=tls)
        started.append(server)
        return server

    yield start
    for server in started:
        assert server.server is not None
        server.server.close()


def client(base_url: str, **timeouts: float) -> RegisterHttp:
    settings = {"connect_timeout_s": 1.0, "read_timeout_s": 2.0, **timeouts}
    return RegisterHttp(api_config("v3", base_url=base_url, **settings))


def raw(envelope: Envelope) -> object:
    return envelope.data


async def test_the_agent_uses_the_lean_transport_and_keeps_one_connection(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def keep_alive(peer: Peer) -> None:
        while True:
            await peer.request()
            await peer.write(answer())

    server = await serve(keep_alive)
    http = client(f"http://127.0.0.1:{server.port}")
    assert isinstance(http._transport, LeanTransport)
    for _ in range(3):
        assert await http.post("/credit-receptions", raw, form={"credits": 1}) == {"balance": 3}
    await http.aclose()
    assert [len(peer.requests) for peer in server.peers] == [3]


async def test_connection_close_is_honoured(serve: Callable[..., Awaitable[Server]]) -> None:
    async def one_each(peer: Peer) -> None:
        await peer.request()
        await peer.write(answer(extra=b"Connection: close\r\n"))
        await asyncio.sleep(3600)  # holds the socket open: only the client may close it

    server = await serve(one_each)
    http = client(f"http://127.0.0.1:{server.port}")
    for _ in range(2):
        assert await http.post("/credit-receptions", raw, form={}) == {"balance": 3}
    await http.aclose()
    assert [len(peer.requests) for peer in server.peers] == [1, 1]


async def test_an_idle_connection_the_server_closed_gets_no_request(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    closed = asyncio.Event()

    async def answer_then_hang_up(peer: Peer) -> None:
        await peer.request()
        await peer.write(answer())  # keep-alive promised, then closed while idle
        peer.writer.close()
        await peer.writer.wait_closed()
        closed.set()

    server = await serve(answer_then_hang_up)
    http = client(f"http://127.0.0.1:{server.port}")
    assert await http.post("/credit-receptions", raw, form={"credits": 1}) == {"balance": 3}
    await asyncio.wait_for(closed.wait(), 10)
    # the POST goes out on a new connection and succeeds: had it been written on the dead
    # one it would have ended as "may have applied"
    assert await http.post("/credit-receptions", raw, form={"credits": 2}) == {"balance": 3}
    await http.aclose()
    assert [len(peer.requests) for peer in server.peers] == [1, 1]
    assert server.peers[1].requests[0].endswith(b"credits=2")


def _answer_twice_then_hang_up(listener: socket.socket, hang_up: threading.Event) -> None:
    """A blocking server for one connection: two answers, then a close when told."""
    peer, _ = listener.accept()
    with peer:
        for _ in range(2):
            received = b""
            while not received.endswith(b"\r\n\r\n"):  # GETs: a head, no body
                received += peer.recv(4096)
            peer.sendall(answer())
        hang_up.wait(10)


async def test_a_kept_idle_connection_sees_a_close_the_event_loop_has_not_read() -> None:
    """The check before reuse polls the socket itself (one poll kept for the connection's
    life, made at its first reuse): a close that arrived while the event loop did not run
    is seen all the same, and the connection is not taken."""
    listener = socket.create_server(("127.0.0.1", 0))
    hang_up = threading.Event()
    server = threading.Thread(target=_answer_twice_then_hang_up, args=(listener, hang_up))
    server.start()
    http = client(f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        for _ in range(2):  # the second reuses the connection: its poll is made then
            assert await http.get("/contacts/x/credit-balance", raw) == {"balance": 3}
        transport = http._transport
        assert isinstance(transport, LeanTransport)
        [[connection]] = transport._idle.values()
        assert connection.fit_to_reuse()
        hang_up.set()
        server.join(10)  # blocking: the loop does not run, so it reads nothing of the close
        assert not connection.fit_to_reuse()
    finally:
        hang_up.set()
        server.join(10)
        listener.close()
        await http.aclose()


async def test_chunked_and_gzip_answers_are_read(serve: Callable[..., Awaitable[Server]]) -> None:
    async def chunked_then_gzip(peer: Peer) -> None:
        await peer.request()
        first, second = BODY[:10], BODY[10:]
        await peer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n"
            % (len(first), first, len(second), second)
        )
        await peer.request()
        await peer.write(answer(gzip.compress(BODY), extra=b"Content-Encoding: gzip\r\n"))

    server = await serve(chunked_then_gzip)
    http = client(f"http://127.0.0.1:{server.port}")
    assert await http.get("/contacts/x/credit-balance", raw) == {"balance": 3}
    assert await http.get("/contacts/x/credit-balance", raw) == {"balance": 3}
    await http.aclose()
    assert [len(peer.requests) for peer in server.peers] == [2]


async def test_a_body_that_does_not_decode_may_have_applied_and_its_connection_goes(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    """The answer is decoded as it is read, inside the exchange: a body that is not the
    gzip it says it is fails a request that left (never "not applied"), and its connection
    is closed by the client rather than handed to the next request."""
    closed_by_client = asyncio.Event()

    async def torn_then_fine(peer: Peer) -> None:
        await peer.request()
        await peer.write(answer(b"not gzip at all", extra=b"Content-Encoding: gzip\r\n"))
        if await peer.reader.read() == b"":  # the server keeps it open: only the client ends it
            closed_by_client.set()

    async def fine(peer: Peer) -> None:
        await peer.request()
        await peer.write(answer())

    handlers = iter([torn_then_fine, fine])

    async def each_in_turn(peer: Peer) -> None:
        await next(handlers)(peer)

    server = await serve(each_in_turn)
    http = client(f"http://127.0.0.1:{server.port}")
    with pytest.raises(OutcomeUnknown, match="DecodingError"):
        await http.post("/credit-receptions", raw, form={"unit_value": "12.50"})
    await asyncio.wait_for(closed_by_client.wait(), 5)
    assert await http.get("/contacts/x/credit-balance", raw) == {"balance": 3}
    await http.aclose()
    assert [len(peer.requests) for peer in server.peers] == [1, 1]


async def test_a_read_timeout_after_sending_may_have_applied(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def silent(peer: Peer) -> None:
        await peer.request()
        await asyncio.sleep(3600)

    server = await serve(silent)
    http = client(f"http://127.0.0.1:{server.port}", read_timeout_s=0.2)
    with pytest.raises(OutcomeUnknown, match="ReadTimeout"):
        await http.post("/credit-receptions", raw, form={"credits": 5}, deadline=Deadline.after(20))
    await http.aclose()
    assert sum(len(peer.requests) for peer in server.peers) == 1  # never repeated


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full: a new connection's SYN is dropped, so connecting
    hangs until the client's connect timeout (nothing can be sent)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


async def test_a_connect_timeout_sent_nothing_and_is_tried_again(full_backlog: int) -> None:
    seen: list[str] = []

    async def trace(event: str, info: dict[str, Any]) -> None:
        seen.append(event)

    transport = LeanTransport()
    async with httpx.AsyncClient(transport=transport, timeout=0.2) as direct:
        with pytest.raises(httpx.ConnectTimeout):
            await direct.post(f"http://127.0.0.1:{full_backlog}/x", extensions={"trace": trace})
    assert seen == []  # the "sent" event never came: the outcome is "not applied"
    http = client(f"http://127.0.0.1:{full_backlog}", connect_timeout_s=0.2)
    with pytest.raises(NotApplied, match="nothing was sent"):
        await http.post("/credit-receptions", raw, form={}, deadline=Deadline.after(20))
    await http.aclose()


async def test_a_get_carries_no_trace_hook_and_a_post_does() -> None:
    extensions: dict[str, set[str]] = {}

    def record(request: httpx.Request) -> httpx.Response:
        extensions[request.method] = set(request.extensions)
        return httpx.Response(200, json={"data": {}, "meta": []})

    http = RegisterHttp(api_config("v3"), transport=httpx.MockTransport(record))
    await http.get("/contacts/x/credit-balance", raw)
    await http.post("/credit-receptions", raw, form={})
    await http.aclose()
    assert "trace" not in extensions["GET"]
    assert "trace" in extensions["POST"]


def openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=20)


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A test CA and a certificate it signed for 127.0.0.1: (ca, cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("ca")
    ca_key, ca, key, csr, cert = (folder / name for name in ("ca.key", "ca.pem", "k", "csr", "c"))
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *curve, "-keyout", ca_key, "-out", ca, "-days", "1",
            "-subj", "/CN=register-agent test CA")  # fmt: skip
    openssl("req", "-new", *curve, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", cert, "-days", "1", "-extfile", extensions)  # fmt: skip
    return ca, cert, key


async def test_tls_with_the_trusted_ca_is_verified_and_kept_alive(
    serve: Callable[..., Awaitable[Server]],
    test_ca: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ca, cert, key = test_ca
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def keep_alive(peer: Peer) -> None:
        while True:
            await peer.request()
            await peer.write(answer())

    server = await serve(keep_alive, context)
    # httpx's own rule for the CA bundle: SSL_CERT_FILE, read when the context is made
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    http = client(f"https://127.0.0.1:{server.port}")
    assert isinstance(http._transport, LeanTransport)
    for _ in range(2):
        assert await http.post("/credit-receptions", raw, form={}) == {"balance": 3}
    await http.aclose()
    assert [len(peer.requests) for peer in server.peers] == [2]
    monkeypatch.delenv("SSL_CERT_FILE")
    refusing = client(f"https://127.0.0.1:{server.port}")  # certifi's roots only
    with pytest.raises(NotApplied, match="CERTIFICATE_VERIFY_FAILED"):
        await refusing.post("/credit-receptions", raw, form={}, deadline=Deadline.after(5))
    await refusing.aclose()
    assert sum(len(peer.requests) for peer in server.peers) == 2


@pytest.mark.parametrize(
    ("environment", "base_url", "lean"),
    [
        ({"HTTPS_PROXY": "http://proxy.example:3128"}, "https://api.leat.com", False),
        ({"HTTPS_PROXY": "http://proxy.example:3128"}, "http://127.0.0.1:8080", True),
        ({"ALL_PROXY": "http://proxy.example:3128"}, "http://127.0.0.1:8080", False),
        (
            {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "leat.com"},
            "https://api.leat.com",
            True,
        ),
        ({}, "https://api.leat.com", True),
    ],
)
def test_a_proxy_in_the_environment_keeps_httpx_transport(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], base_url: str, lean: bool
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert isinstance(lean_transport.for_url(base_url), LeanTransport) is lean
    http = RegisterHttp(api_config("v3", base_url=base_url))
    assert isinstance(http._transport, LeanTransport) is lean


async def test_requests_are_built_as_the_client_would_build_them() -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {}, "meta": []})

    config = api_config("v3", base_url="https://api.example/base/", partner_id="p-1")
    http = RegisterHttp(config, transport=httpx.MockTransport(record))
    card = {"contact_identifier_value": "BE 0001/+&"}
    await http.get("/contact-identifiers/find", raw, params=card)
    await http.post("/credit-receptions", raw, form={"unit_value": "12.50", "credits": 3})
    client = http._client
    expected = [
        client.build_request("GET", f"{http.prefix}/contact-identifiers/find", params=card),
        client.build_request(
            "POST",
            f"{http.prefix}/credit-receptions",
            content=b"unit_value=12.50&credits=3",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    await http.aclose()
    assert [(r.method, r.url, r.headers.raw, r.content) for r in sent] == [
        (r.method, r.url, r.headers.raw, r.content) for r in expected
    ]


async def test_a_key_with_a_trailing_space_sends_nothing_and_never_shows_the_key(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    """HTTP forbids spaces around a header's value; such a key (pasted into an environment
    variable) is refused before a byte leaves, and h11's words, which quote the header,
    stay out of the error the outbox logs."""

    async def keep_alive(peer: Peer) -> None:
        while True:
            await peer.request()
            await peer.write(answer())

    server = await serve(keep_alive)
    key = "secret-key-123 "
    config = api_config("v3", base_url=f"http://127.0.0.1:{server.port}", api_key=key)
    http = RegisterHttp(config)
    with pytest.raises(NotApplied, match="not valid HTTP") as refused:
        await http.post("/credit-receptions", raw, form={"credits": 1})
    await http.aclose()
    chain = [refused.value, *_causes(refused.value)]
    assert all(key.strip() not in str(error) for error in chain)
    assert sum(len(peer.requests) for peer in server.peers) == 0


def _causes(error: BaseException) -> list[BaseException]:
    """The exceptions a logged traceback shows below ``error`` (as ``traceback`` walks it)."""
    found: list[BaseException] = []
    below: BaseException | None = error
    while below is not None:
        below = below.__cause__ or (None if below.__suppress_context__ else below.__context__)
        if below is not None:
            found.append(below)
    return found
