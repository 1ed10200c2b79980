"""The local API's listener: uvicorn on a loopback port or a unix socket in the test's event
loop, a clear error for a busy address, a bounded stop that lets a request in progress
finish, and a loud warning when it listens beyond this machine."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import anyio
import httpx
import pytest

from register_agent.api import LocalApiServer, make_app, parse_listen
from register_agent.common.events import EventBus
from register_agent.errors import ConfigError
from tests.support.api_support import AUTH, TOKEN, ScriptedTill, running_api

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(20)]


async def test_the_api_on_a_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "api.sock"
    stale = socket.socket(socket.AF_UNIX)  # a socket file left behind by a killed agent
    stale.bind(str(path))
    stale.close()
    async with running_api(f"unix:{path}") as api:
        assert (path.stat().st_mode & 0o777) == 0o660
        answer = await api.client.get("/v1/status")
        assert answer.status_code == 200
        assert answer.json()["register_api"] == "reachable"
        assert (await api.anonymous.get("/v1/status")).status_code == 401
    assert not path.exists()


async def test_a_busy_port_is_a_clear_error_and_a_stopped_server_frees_it() -> None:
    async with running_api() as api:
        taken = str(api.server.address)
        second = LocalApiServer(make_app(ScriptedTill(), EventBus(), TOKEN), taken)
        with pytest.raises(
            ConfigError,
            match=r"local_api\.listen: cannot listen on 127\.0\.0\.1.*--listen HOST:PORT",
        ):
            async with second:
                pass
    with anyio.fail_after(2), pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://{taken}/v1/status", headers=AUTH)


async def test_stop_lets_a_request_finish_and_cuts_one_that_hangs() -> None:
    answers: list[httpx.Response | Exception] = []

    async def ask(client: httpx.AsyncClient) -> None:
        try:
            answers.append(await client.get("/v1/status", timeout=4))
        except httpx.HTTPError as exc:
            answers.append(exc)

    for delay_s in (0.3, 60.0):
        async with running_api(graceful_s=1) as api, anyio.create_task_group() as tasks:
            api.till.status_delay_s = delay_s
            tasks.start_soon(ask, api.client)
            await anyio.sleep(0.1)  # the request is with the till now
            with anyio.fail_after(30):  # never stopping (the 60 s request not cut) fails
                await api.server.stop()
    finished, cut = answers
    assert isinstance(finished, httpx.Response)
    assert finished.status_code == 200
    assert isinstance(cut, httpx.Response)
    assert cut.status_code == 503
    assert cut.json()["code"] == "stopping"


async def test_answers_do_not_wait_for_a_delayed_ack() -> None:
    # With Nagle on, each answer's body (h11 writes head and body apart) waited ~40 ms for
    # the client's delayed ACK; the connection the answers came on must have it off.
    async with running_api() as api:
        for _ in range(3):  # keep-alive: one connection carries them all
            assert (await api.client.get("/v1/status")).status_code == 200
        connections = api.server._server.server_state.connections  # type: ignore[union-attr]
        [connection] = connections
        sock = connection.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


async def test_listening_beyond_loopback_is_said_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        async with running_api("127.0.0.1:0"):
            pass
        assert "beyond this machine" not in caplog.text
        async with running_api("0.0.0.0:0"):
            pass
    assert "beyond this machine" in caplog.text
    assert TOKEN not in caplog.text


def test_listen_addresses() -> None:
    assert str(parse_listen("127.0.0.1:8721")) == "127.0.0.1:8721"
    assert parse_listen("[::1]:8721").host == "::1"
    assert parse_listen("unix:/run/register-agent/api.sock").path == Path(
        "/run/register-agent/api.sock"
    )
    for wrong in ("8721", "localhost", "127.0.0.1:http", "127.0.0.1:70000", "unix:api.sock"):
        with pytest.raises(ConfigError, match=r"local_api\.listen"):
            parse_listen(wrong)
