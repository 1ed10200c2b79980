"""Free ports for the tests' own servers (the agent's local API, printers, vpcd's card), and
closed ones for the tests that want a connection refused.

Picked below the kernel's ephemeral range (``ip_local_port_range``, 32768 and up), never by
binding port 0: a port the kernel hands out there is free only until the next client's
connection or the next ``bind(0)`` takes it, and with the suite's files run side by side an
agent started a moment later found its address in use. Below that range only another
pick can collide: a process never hands out the same port twice (a test picks all of its
agents' ports before any of them binds), and each pytest-xdist worker picks from its own
share of the range.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket

LOWEST, HIGHEST = 20_000, 32_000

_given: set[int] = set()


def _share() -> range:
    """This process's share of the range: the whole of it, or one worker's slice."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw") or workers < 2:
        return range(LOWEST, HIGHEST)
    size = (HIGHEST - LOWEST) // workers
    start = LOWEST + int(worker[2:]) % workers * size
    return range(start, start + size)


def free_port(count: int = 1, host: str = "127.0.0.1") -> int:
    """A port P with P .. P + count - 1 free on ``host``, never handed out before here."""
    share = _share()
    for _ in range(1000):
        port = random.randrange(share.start, share.stop - count)
        wanted = range(port, port + count)
        if any(number in _given for number in wanted):
            continue
        with contextlib.ExitStack() as probes:
            try:
                for number in wanted:
                    probes.enter_context(socket.socket()).bind((host, number))
            except OSError:
                continue
        _given.update(wanted)
        return port
    raise AssertionError(f"no {count} free ports side by side in {share}")


def closed_port() -> int:
    """A port nobody listens on, so a connection to it is refused: picked like ``free_port``
    and so never handed to one of the tests' servers afterwards."""
    return free_port()
