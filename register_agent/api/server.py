"""The local API's listener: uvicorn run in-process on the agent's own event loop, on a
loopback port or a unix socket (``[local_api] listen``), started before READY=1 and stopped
in reverse order with the rest of the agent (``runtime/agent.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import ssl
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from register_agent.api.stream import close_streams
from register_agent.config import LocalApiConfig
from register_agent.errors import ConfigError, RegisterAgentError

log = logging.getLogger(__name__)

#: who may open the unix socket: the agent's user and group (the POS user joins the group);
#: the token is still required, this only keeps other local users from trying it
UNIX_SOCKET_MODE = 0o660


@dataclass(frozen=True)
class Listen:
    """Where the local API listens: a TCP host and port, or a unix socket path."""

    host: str = ""
    port: int = 0
    path: Path | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return f"unix:{self.path}"
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """``"127.0.0.1:8721"``, ``"[::1]:8721"`` or ``"unix:/run/register-agent/api.sock"``."""
    if text.startswith("unix:"):
        path = Path(text.removeprefix("unix:"))
        if not path.is_absolute():
            raise ConfigError(f"local_api.listen: {text!r} needs an absolute path after 'unix:'")
        return Listen(path=path)
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(
            f"local_api.listen: {text!r} is not HOST:PORT (e.g. 127.0.0.1:8721) "
            "or unix:/path/to/api.sock"
        )
    return Listen(host=host, port=int(port))


class _InProcessServer(uvicorn.Server):
    """uvicorn without its signal handlers: the agent's service owns SIGTERM and SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LocalApiServer:
    """Serves one app on one address; ``start()`` returns once it accepts connections."""

    def __init__(
        self,
        app: FastAPI,
        listen: str,
        *,
        graceful_s: int = 5,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self._app = app
        self._listen = parse_listen(listen)
        self._graceful_s = graceful_s
        self._tls = tls
        self._server: _InProcessServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._bound: Listen | None = None

    @classmethod
    def for_config(cls, app: FastAPI, config: LocalApiConfig) -> LocalApiServer:
        """As ``[local_api]`` says: its address, and https with tls_cert and tls_key."""
        tls = None
        if config.tls_cert is not None and config.tls_key is not None:
            tls = (config.tls_cert, config.tls_key)
        return cls(app, config.listen, tls=tls)

    @property
    def address(self) -> Listen:
        """The bound address (the real port when ``listen`` asked for port 0)."""
        if self._bound is None:
            raise RuntimeError("the local API is not started")
        return self._bound

    async def start(self, timeout_s: float = 5.0) -> None:
        """Bind, start serving, and return once connections are accepted."""
        if self._tls is not None:
            _check_tls(*self._tls)
        sock = self._bind()
        cert, key = self._tls or (None, None)
        config = uvicorn.Config(
            self._app,
            lifespan="off",  # the service starts and stops the till, not the web app
            log_config=None,  # keep the agent's logging set-up
            access_log=False,  # request lines add nothing the agent does not log itself
            server_header=False,
            proxy_headers=False,  # nothing sits in front of it
            ws="none",
            timeout_graceful_shutdown=self._graceful_s,
            ssl_certfile=cert,
            ssl_keyfile=key,
        )
        self._server = _InProcessServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="local-api")
        try:
            await asyncio.wait_for(_started(self._server, self._task), timeout_s)
        except BaseException:
            await self.stop()
            raise
        scheme = "https" if self._tls is not None else "http"
        log.info("local API listening on %s (%s; documentation at /docs)", self._bound, scheme)
        if not _private(self._listen):
            log.warning(
                "local API listens on %s, beyond this machine: only the token protects it; "
                "keep the port closed to all but the POS (firewall)",
                self._bound,
            )

    async def __aenter__(self) -> LocalApiServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """End event streams, let requests in progress finish (bounded), close the socket."""
        close_streams(self._app)
        server, task = self._server, self._task
        if server is not None and task is not None:
            server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(task), self._graceful_s + 2)
            except TimeoutError:
                log.warning("local API did not stop within %.0f s; cut off", self._graceful_s)
                server.force_exit = True
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            except Exception:  # it failed earlier; stopping must still finish
                log.exception("the local API had failed before it was stopped")
        self._server = self._task = None
        self._remove_socket_file()

    def _bind(self) -> socket.socket:
        listen = self._listen
        try:
            sock = _bind_unix(listen.path) if listen.path else _bind_tcp(listen.host, listen.port)
        except OSError as exc:
            raise ConfigError(
                f"local_api.listen: cannot listen on {listen} ({exc.strerror or exc}); "
                "is another agent running, or is the address wrong? Set another address in "
                "[local_api] listen, or give `run` --listen HOST:PORT (port 0 takes a free one)"
            ) from exc
        if listen.path is None:
            host, port = sock.getsockname()[:2]
            self._bound = Listen(host=host, port=port)
        else:
            self._bound = listen
        return sock

    def _remove_socket_file(self) -> None:
        path = self._bound.path if self._bound is not None else None
        if path is not None and path.is_socket():
            path.unlink(missing_ok=True)


def _check_tls(cert: Path, key: Path) -> None:
    """The pair is loaded once here, so a wrong file is the installer's message at start
    rather than uvicorn's traceback."""
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"local_api.tls_cert / tls_key: {cert} and {key} cannot be used "
            f"({getattr(exc, 'strerror', None) or exc}); give a PEM certificate and its "
            "private key, readable by the agent's user"
        ) from exc


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
            raise RegisterAgentError("the local API stopped while starting; see the log")
        await asyncio.sleep(0.005)


def _private(listen: Listen) -> bool:
    """A unix socket or a loopback address: reachable from this machine only."""
    if listen.path is not None or listen.host == "localhost":
        return True
    try:
        return ipaddress.ip_address(listen.host).is_loopback
    except ValueError:  # a host name: cannot tell, so say it
        return False


def _bind_tcp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # The protocol is named, not left 0 as socket.create_server leaves it: asyncio turns
    # Nagle off (TCP_NODELAY) only on sockets that say TCP, and an accepted socket takes
    # the listener's. Without it every answer (h11 writes the head and the body apart)
    # waited ~40 ms for the POS's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _bind_unix(path: Path) -> socket.socket:
    _remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, UNIX_SOCKET_MODE)
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _remove_stale_socket(path: Path) -> None:
    """A socket file left by a killed agent is removed; a live one or another file is not."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ConfigError(f"local_api.listen: {path} exists and is not a socket; remove it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:
        path.unlink(missing_ok=True)
        return
    finally:
        probe.close()
    raise ConfigError(f"local_api.listen: another program listens on {path}; stop it first")
