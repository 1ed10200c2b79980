"""A small JSON-over-HTTP client on the standard library, for the agent's own commands:
``register-agent status`` asks the running agent's local API, and ``register-agent demo``
plays the POS software and the customer's phone against the local API and the sandbox.

Not httpx: only ``register_agent.loyalty`` speaks httpx (an import-linter contract), and
these commands send one request at a time, where ``http.client`` is enough and starts fast.
It reaches a ``[local_api] listen`` address as written in the config: ``HOST:PORT``,
``[v6]:PORT`` or ``unix:/path/to/api.sock``; and plain ``http://HOST:PORT`` URLs.
"""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any

from register_agent.errors import AgentUnreachable, ConfigError

#: a listener on every address is reached on loopback
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: its status and its body (parsed JSON, or the text when not JSON)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (``[local_api] listen = "unix:/run/..."``)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class JsonClient:
    """One JSON request per call, a fresh connection each (no state to go stale)."""

    def __init__(self, address: str, token: str | None = None, *, timeout_s: float = 5.0) -> None:
        self.address = address
        self._token = token
        self._timeout_s = timeout_s

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, body: object = None) -> Reply:
        return self.request("POST", path, {} if body is None else body)

    def request(self, method: str, path: str, body: object = None) -> Reply:
        """Send ``body`` as JSON; raise ``AgentUnreachable`` when nothing answers."""
        headers = {"Accept": "application/json"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        if data is not None:
            headers["Content-Type"] = "application/json"
        connection = self._connection()
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise AgentUnreachable(f"nothing answers on {self.address} ({reason})") from exc
        finally:
            connection.close()
        return Reply(response.status, _parsed(raw))

    def _connection(self) -> http.client.HTTPConnection:
        address = self.address.removeprefix("http://").rstrip("/")
        if address.startswith("unix:"):
            return _UnixConnection(address.removeprefix("unix:"), self._timeout_s)
        host, _, port = address.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not port.isdigit():
            raise ConfigError(f"{self.address!r} is not HOST:PORT or unix:/path/to/api.sock")
        host = _ANY_ADDRESS.get(host, host)
        return http.client.HTTPConnection(host, int(port), timeout=self._timeout_s)


def _parsed(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
