"""systemd's notify protocol and the watchdog heartbeat.

``READY=1`` once the journal is open and the local API listens; ``WATCHDOG=1`` only while
every registered worker (outbox, printer, each reader) has checked in recently, so a hung
worker stops the pings and systemd restarts the agent. The protocol is one datagram to
``$NOTIFY_SOCKET``: no library needed, and unlike the ``sdnotify`` package a failure to
send is logged, not swallowed. A reader counts as a worker while it is open: the agent's
watchdog loop (``feed_watchdog``) checks it in as long as its thread turns.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence

from register_agent.readers.reader import Reader

log = logging.getLogger(__name__)

READER_SILENCE_S = 5.0  # an open serial reader's thread turns every 0.25 s
READY_STATUS = "journal open, local API listening"


class Notifier:
    """Sends state lines to systemd; does nothing when not started by systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # a leading "@" names a socket in the abstract namespace
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        self._last_status = ""
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_interval_s: float | None = (
            int(usec) / 1_000_000 if usec.isdigit() and int(usec) > 0 and mine else None
        )

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *lines: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; False (and a log line) if it failed."""
        if self._socket is None:
            return False
        try:
            self._socket.sendto("\n".join(lines).encode(), self._address)
        except OSError as exc:
            log.warning("cannot tell systemd %s: %s", lines[0], exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        self._last_status = status or self._last_status
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        # systemd >= 253 wants MONOTONIC_USEC with RELOADING=1 for Type=notify-reload
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def status_changed(self, text: str) -> bool:
        """``STATUS=text`` when it differs from the last one this sent (``systemctl
        status`` shows it): a full disk and its end, without a datagram every few seconds."""
        if text == self._last_status:
            return False
        self._last_status = text
        return self.status(text)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class Heartbeat:
    """Workers check in; the watchdog is fed only while none has been silent too long.

    A worker that waits for work (an idle outbox, a reader with no scans) still checks in
    on every turn of its loop, so silence means hung, not idle.
    """

    def __init__(self, max_silence_s: float, clock: Callable[[], float] = time.monotonic):
        self._max_silence_s = max_silence_s
        self._clock = clock
        self._last_seen: dict[str, float] = {}

    def register(self, worker: str) -> None:
        self._last_seen[worker] = self._clock()

    def beat(self, worker: str) -> None:
        self._last_seen[worker] = self._clock()

    def silent_workers(self) -> list[str]:
        now = self._clock()
        return sorted(
            name for name, seen in self._last_seen.items() if now - seen > self._max_silence_s
        )

    def feed(self, notifier: Notifier) -> bool:
        """Ping the watchdog if every worker is alive; otherwise say who is silent."""
        silent = self.silent_workers()
        if silent:
            log.error("no heartbeat from %s: not feeding the watchdog", ", ".join(silent))
            return False
        return notifier.notify("WATCHDOG=1")


async def feed_watchdog(
    notifier: Notifier,
    heartbeat: Heartbeat,
    readers: Sequence[Reader],
    tick: Callable[[], None],
    trouble: Callable[[], Sequence[str]] = list,
) -> None:
    """The agent's watchdog loop, every half watchdog interval (5 s without a watchdog): the
    event loop and the turning readers check in, ``tick`` runs (the readers' metrics are
    sampled), systemd's status line says the ``trouble`` (a full disk, a worker failing)
    or that all is well again, and systemd is pinged while no worker is silent."""
    interval = notifier.watchdog_interval_s
    pause = interval / 2 if interval else 5.0
    while True:
        heartbeat.beat("agent")  # the event loop itself turns
        beat_readers(readers, heartbeat)
        tick()
        notifier.status_changed("; ".join(trouble()) or READY_STATUS)
        if interval:
            heartbeat.feed(notifier)
        await asyncio.sleep(pause)


def beat_readers(readers: Sequence[Reader], heartbeat: Heartbeat) -> None:
    """A reader that is open and reading turns every quarter second at the least; one
    that stopped turning is hung. A reader that is absent or reopening is not hung:
    a missing scanner must not restart the agent (it disables only itself)."""
    now = time.monotonic()
    for reader in readers:
        status = reader.status()
        alive = status.alive_at is None or now - status.alive_at < READER_SILENCE_S
        if status.state != "ok" or alive:
            heartbeat.beat(f"reader {reader.name}")
