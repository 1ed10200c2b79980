"""The fault proxy itself, against a tiny echo server: each mode does what it says."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.support.asked import record_asyncio
from tests.support.faultproxy import FaultProxy


class _Echo(socketserver.BaseRequestHandler):
    received: list[bytes] = []  # noqa: RUF012 (shared on purpose: the test reads it)

    def handle(self) -> None:
        data = self.request.recv(1024)
        _Echo.received.append(data)
        self.request.sendall(b"echo:" + data)


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    _Echo.received.clear()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    fault_proxy = FaultProxy("127.0.0.1", server.server_address[1])
    yield fault_proxy
    fault_proxy.close()
    server.shutdown()
    server.server_close()


def exchange(proxy: FaultProxy, payload: bytes, timeout: float = 2.0) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout) as client:
        client.sendall(payload)
        return client.recv(1024)


def test_pass_forwards_both_ways(proxy: FaultProxy) -> None:
    assert exchange(proxy, b"hello") == b"echo:hello"


def test_reset_reaches_nothing(proxy: FaultProxy) -> None:
    proxy.set_mode("reset")
    with pytest.raises(ConnectionResetError):
        exchange(proxy, b"hello")
    assert _Echo.received == []


def test_blackhole_answers_nothing(proxy: FaultProxy) -> None:
    proxy.set_mode("blackhole")
    with pytest.raises(TimeoutError):
        exchange(proxy, b"hello", timeout=0.3)
    assert _Echo.received == []


def test_drop_response_delivers_the_request_but_not_the_answer(proxy: FaultProxy) -> None:
    proxy.set_mode("drop_response")
    with pytest.raises(ConnectionResetError):
        exchange(proxy, b"credit 12.50")
    assert _Echo.received == [b"credit 12.50"]


def test_latency_delays_the_answer(proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    slept = record_asyncio(monkeypatch, "tests.support.faultproxy", "sleep")
    proxy.set_mode("latency", latency_s=0.2)
    assert exchange(proxy, b"slow") == b"echo:slow"
    assert [args for args, _ in slept] == [(0.2,), (0.2,)]  # one delay each way
    with pytest.raises(ValueError, match="unknown proxy mode"):
        proxy.set_mode("melt")
