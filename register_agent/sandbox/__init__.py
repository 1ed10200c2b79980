"""The sandbox Register API: a strict, stateful simulator of Piggy's Register API v1 and v3
that the tests, the demo and integrators use instead of the real cloud (``register-agent
sandbox``). ``GET /_sandbox/`` on a running one documents its routes and decisions.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from register_agent.sandbox.handle import SandboxHandle, start_sandbox
from register_agent.sandbox.seed import Seed, default_seed_path, load_seed

__all__ = [
    "SandboxHandle",
    "banner",
    "default_seed_path",
    "load_seed",
    "serve_forever",
    "start_sandbox",
]


def banner(url: str, seed: Seed) -> str:
    """What ``register-agent sandbox`` prints at start (sandbox keys: fine to show)."""
    keys = "\n".join(f"  {r.api_key:<20} {r.name} ({r.identifier})" for r in seed.registers)
    first = seed.registers[0].api_key
    return (
        f"sandbox Register API listening on {url}\n"
        f"  v1 API: {url}/api/v1/register\n"
        f"  v3 API: {url}/api/v3/register\n"
        f"  help:   {url}/_sandbox/  (ledger, faults, reset, claim)\n"
        f"API keys (each works on v1 and v3):\n{keys}\n"
        f"try: curl -H 'Authorization: Bearer {first}' {url}/api/v3/register\n"
        "Ctrl-C stops it."
    )


def _exposed(host: str) -> bool:
    return not (host.startswith("127.") or host in ("localhost", "::1"))


def serve_forever(host: str, port: int, seed_path: Path | None) -> int:
    """Run until Ctrl-C or SIGTERM; the CLI's ``sandbox`` command."""
    handle = start_sandbox(seed_path, host, port)
    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(banner(handle.url, handle.store.seed), flush=True)
    if _exposed(host):
        print(
            f"warning: listening on {host}: other machines can reach the sandbox API with the "
            "keys above (the /_sandbox/ control routes still answer loopback only)",
            flush=True,
        )
    try:
        done.wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C is the normal way to stop it
    finally:
        signal.signal(signal.SIGTERM, previous)
        handle.stop()
    print("sandbox stopped", flush=True)
    return 0
