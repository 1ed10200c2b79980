"""Free ports for the tests' own servers (the agent's local API, printers, vpcd's card).

Picked below the kernel's ephemeral range (``ip_local_port_range``, 32768 and up), never by
binding port 0: a port the kernel hands out there is free only until the next client's
connection or the next ``bind(0)`` takes it, and with the suite's files run side by side an
agent started a moment later found its address in use. Below that range only another
test's own pick can collide, and each pick is checked free first.
"""

from __future__ import annotations

import contextlib
import random
import socket

LOWEST, HIGHEST = 20_000, 32_000


def free_port(count: int = 1, host: str = "127.0.0.1") -> int:
    """A port P with P .. P + count - 1 free on ``host``."""
    for _ in range(500):
        port = random.randrange(LOWEST, HIGHEST - count)
        with contextlib.ExitStack() as probes:
            try:
                for offset in range(count):
                    probe = probes.enter_context(socket.socket())
                    probe.bind((host, port + offset))
            except OSError:
                continue
            return port
    raise AssertionError(f"no {count} free ports side by side in {LOWEST}-{HIGHEST}")
