"""A sandbox running in a background thread, as the tests, the demo and ``run --sandbox``
start it: its URL, its live store, and a stop that returns in about 50 ms.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from register_agent.errors import ConfigError
from register_agent.sandbox.seed import load_seed
from register_agent.sandbox.server import SandboxServer
from register_agent.sandbox.state import Store


@dataclass
class SandboxHandle:
    """A running sandbox (tests): ``url``, the live ``store``, and ``stop()``."""

    server: SandboxServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def store(self) -> Store:
        return self.server.store

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=5)


def start_sandbox(
    seed_path: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    port_option: str = "--port",
) -> SandboxHandle:
    """Start a sandbox in a background thread; ``port=0`` picks a free port.

    ``port_option`` is the command's option that chose ``port`` (``sandbox --port``, ``run
    --sandbox-port``): a busy port's message names the one the user can actually type.
    """
    store = Store(load_seed(seed_path))
    try:
        server = SandboxServer((host, port), store)
    except OSError as exc:
        raise ConfigError(
            f"sandbox: cannot listen on {host}:{port} ({exc.strerror}); is another "
            f"register-agent already running? Stop it, or choose another port with "
            f"{port_option} (0 picks a free one)"
        ) from exc
    # a short poll interval so stop() returns in ~50 ms (tests start and stop sandboxes)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="sandbox", daemon=True
    )
    thread.start()
    return SandboxHandle(server, thread)
