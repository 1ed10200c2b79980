"""The client's real transport over loopback: what "nothing was sent" and "sent, then no
answer" look like with real sockets (closed port, TLS handshake failure, a server that
reads the request and then hangs up or stays silent)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest

from register_agent.errors import NotApplied, OutcomeUnknown
from register_agent.loyalty import Deadline
from register_agent.loyalty.http import RegisterHttp
from register_agent.loyalty.outcomes import Envelope
from tests.support.loyalty_support import api_config
from tests.support.ports import closed_port

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.timeout(20),
    pytest.mark.usefixtures("no_retry_waits"),
]

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class FakeServer:
    """A loopback TCP server with a scripted behaviour; counts connections and requests."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.behaviour(reader, writer)
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        self.requests.append(head + await reader.readexactly(length))


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Behaviour], Awaitable[FakeServer]]]:
    started: list[FakeServer] = []

    async def start(behaviour: Behaviour) -> FakeServer:
        fake = FakeServer(behaviour)
        fake.server = await asyncio.start_server(fake._serve, "127.0.0.1", 0)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        assert fake.server is not None
        fake.server.close()


def client(base_url: str) -> RegisterHttp:
    return RegisterHttp(api_config("v3", base_url=base_url, connect_timeout_s=1, read_timeout_s=2))


def raw(envelope: Envelope) -> object:
    return envelope.data


async def test_a_closed_port_is_not_applied() -> None:
    http = client(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(NotApplied, match="nothing was sent") as caught:
        await http.post("/credit-receptions", raw, form={"unit_value": Decimal("1")})
    await http.aclose()
    assert caught.value.status == 0


async def test_a_failed_tls_handshake_is_not_applied_and_retried(
    serve: Callable[[Behaviour], Awaitable[FakeServer]],
) -> None:
    async def not_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    fake = await serve(not_tls)
    http = client(f"https://127.0.0.1:{fake.port}")
    with pytest.raises(NotApplied):
        await http.post("/credit-receptions", raw, form={}, deadline=Deadline.after(5))
    await http.aclose()
    assert fake.connections == 3  # nothing was sent, so the POST may be tried again


async def test_a_post_whose_connection_drops_after_sending_is_unknown_and_sent_once(
    serve: Callable[[Behaviour], Awaitable[FakeServer]],
) -> None:
    fake: FakeServer

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await fake.read_request(reader)

    fake = await serve(hang_up)
    http = client(f"http://127.0.0.1:{fake.port}")
    with pytest.raises(OutcomeUnknown, match="reconcile"):
        await http.post("/credit-receptions", raw, form={"credits": 5}, deadline=Deadline.after(5))
    await http.aclose()
    assert len(fake.requests) == 1
    assert fake.requests[0].endswith(b"credits=5")


async def test_a_get_whose_connection_drops_is_retried(
    serve: Callable[[Behaviour], Awaitable[FakeServer]],
) -> None:
    fake: FakeServer

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await fake.read_request(reader)

    fake = await serve(hang_up)
    http = client(f"http://127.0.0.1:{fake.port}")
    with pytest.raises(NotApplied):
        await http.get("/contacts/x/credit-balance", raw, deadline=Deadline.after(5))
    await http.aclose()
    assert len(fake.requests) == 3


async def test_a_silent_server_ends_a_post_at_the_deadline_as_unknown(
    serve: Callable[[Behaviour], Awaitable[FakeServer]],
) -> None:
    fake: FakeServer

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await fake.read_request(reader)
        await asyncio.sleep(3600)  # never answers: only the deadline can end the POST

    fake = await serve(silent)
    http = client(f"http://127.0.0.1:{fake.port}")
    # the test's own bound (a busy machine's room): ending there would be TimeoutError
    with pytest.raises(OutcomeUnknown, match="deadline"):
        await asyncio.wait_for(
            http.post("/credit-receptions", raw, form={}, deadline=Deadline.after(0.3)), 30
        )
    await http.aclose()
    assert len(fake.requests) == 1


async def test_one_connection_is_reused(
    serve: Callable[[Behaviour], Awaitable[FakeServer]],
) -> None:
    fake: FakeServer

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = b'{"data": {"balance": 3}, "meta": []}'
        for _ in range(3):
            await fake.read_request(reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            await writer.drain()

    fake = await serve(keep_alive)
    http = client(f"http://127.0.0.1:{fake.port}")
    for _ in range(3):
        assert await http.get("/contacts/x/credit-balance", raw) == {"balance": 3}
    await http.aclose()
    assert fake.connections == 1
    assert len(fake.requests) == 3


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_tls_certificates_are_always_verified(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=10,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    fake: FakeServer

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await fake.read_request(reader)  # never reached: the client refuses the certificate

    fake = FakeServer(answer)
    fake.server = await asyncio.start_server(fake._serve, "127.0.0.1", 0, ssl=context)
    http = client(f"https://127.0.0.1:{fake.port}")
    try:
        with pytest.raises(NotApplied, match="CERTIFICATE_VERIFY_FAILED"):
            await http.post("/credit-receptions", raw, form={}, deadline=Deadline.after(5))
    finally:
        await http.aclose()
        fake.server.close()
    assert fake.requests == []  # a self-signed certificate gets no request at all
