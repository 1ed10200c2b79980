"""The notify protocol against a real datagram socket, as systemd would listen."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from register_agent.runtime.sdnotify import Heartbeat, Notifier


@pytest.fixture
def systemd_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(2)
    yield listener, path
    listener.close()


def test_ready_status_and_stopping_reach_systemd(
    systemd_socket: tuple[socket.socket, str],
) -> None:
    listener, path = systemd_socket
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.ready("journal open, local API listening")
    assert listener.recv(4096) == b"READY=1\nSTATUS=journal open, local API listening"
    assert notifier.stopping()
    assert listener.recv(4096) == b"STOPPING=1"
    assert notifier.reloading()
    assert listener.recv(4096).startswith(b"RELOADING=1\nMONOTONIC_USEC=")
    notifier.close()


def test_abstract_namespace_socket() -> None:
    name = f"register-agent-test-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    listener.settimeout(2)
    notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
    assert notifier.notify("WATCHDOG=1")
    assert listener.recv(64) == b"WATCHDOG=1"
    listener.close()
    notifier.close()


def test_without_systemd_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert notifier.watchdog_interval_s is None


def test_watchdog_interval_is_only_ours_when_the_pid_matches() -> None:
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval_s == 30.0
    mine = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_interval_s == 30.0
    other = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}
    assert Notifier(other).watchdog_interval_s is None


def test_a_vanished_socket_is_reported_not_raised(tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.enabled
    assert not notifier.ready()


def test_a_silent_worker_stops_the_watchdog_pings(
    systemd_socket: tuple[socket.socket, str],
) -> None:
    listener, path = systemd_socket
    now = [100.0]
    heartbeat = Heartbeat(max_silence_s=10, clock=lambda: now[0])
    heartbeat.register("outbox")
    heartbeat.register("printer")
    notifier = Notifier({"NOTIFY_SOCKET": path})
    now[0] = 105.0
    assert heartbeat.feed(notifier)
    assert listener.recv(64) == b"WATCHDOG=1"
    heartbeat.beat("outbox")
    now[0] = 112.0
    assert heartbeat.silent_workers() == ["printer"]
    assert not heartbeat.feed(notifier)
    heartbeat.beat("printer")
    assert heartbeat.feed(notifier)
    assert listener.recv(64) == b"WATCHDOG=1"
    notifier.close()


def test_a_changed_status_line_is_sent_once(systemd_socket: tuple[socket.socket, str]) -> None:
    listener, path = systemd_socket
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.ready("journal open, local API listening")
    listener.recv(4096)
    assert not notifier.status_changed("journal open, local API listening")  # nothing new
    assert notifier.status_changed("the till's disk is full")
    assert listener.recv(4096) == b"STATUS=the till's disk is full"
    assert not notifier.status_changed("the till's disk is full")
    assert notifier.status_changed("journal open, local API listening")
    assert listener.recv(4096) == b"STATUS=journal open, local API listening"
    notifier.close()
