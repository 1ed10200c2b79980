"""A real pcscd of the tests' own with a virtual reader (Debian's vsmartcard-vpcd), and a
virtual contactless card that answers GET DATA with the UID a test chooses.

pcscd listens on a socket the test binds and hands over as systemd's socket activation
does (``LISTEN_FDS``), so it never takes the system's ``/run/pcscd/pcscd.comm``; clients
find it by ``PCSCLITE_CSOCK_NAME`` (read by libpcsclite). Its readers come from a
``reader.conf.d`` of its own (``-c``): vpcd's reader, waiting for a card on a TCP port of
the test's choosing, or none (a pcscd without the reader: the reader unplugged).

The card speaks vpcd's protocol (virtualsmartcard/src/vpcd/vpcd.c): every message is two
bytes of length (big-endian) and its bytes; a one-byte message is a control (0 power off,
1 on, 2 reset, 4 "your ATR?", answered with the ATR), anything longer an APDU, answered
with its response. Connected is presented, disconnected removed. vicc's own emulator is
not used: none of its card types answers ``FF CA`` with a UID of our choosing.

Run as ``python -m tests.support.pcsc UID PORT``: the card's process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
#: what pcscd calls vpcd's first slot (FRIENDLYNAME, reader and slot numbers)
READER_NAME = "Virtual PCD 00 00"
#: a contactless card's ATR as PC/SC part 3 builds it (MIFARE Classic 1K)
ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
GET_UID = bytes.fromhex("FFCA0000")


def missing() -> str | None:
    """Why pcscd with vpcd cannot run here (None: it can)."""
    if shutil.which("pcscd") is None:
        return "pcscd is not installed (scripts/system-packages.txt names it)"
    if not VPCD_DRIVER.exists():
        return f"{VPCD_DRIVER} is missing: install vsmartcard-vpcd"
    try:
        import smartcard.scard  # noqa: F401, PLC0415
    except ImportError:
        return "pyscard is not installed (the dev extra has it)"
    return None


def free_port_pair() -> int:
    """A port P with P + 1 free too: vpcd listens on both (its two slots). pcscd is stopped
    and started again on them, so they are kept out of the ephemeral range (``ports``)."""
    return free_port(2, host="")


class Pcscd:
    """One pcscd in the foreground, started and stopped (or killed) by the test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket_path = directory / "pcscd.comm"
        self.card_port = free_port_pair()
        self.log = directory / "pcscd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.with_reader = False
        (directory / "drop").mkdir(exist_ok=True)  # no USB drivers: only our reader

    @property
    def env(self) -> dict[str, str]:
        """What a client (the agent) needs to find this pcscd."""
        return {"PCSCLITE_CSOCK_NAME": str(self.socket_path)}

    def start(self, *, with_reader: bool = True) -> None:
        assert self.process is None, "already running"
        self.with_reader = with_reader
        conf = self.directory / ("conf" if with_reader else "conf-empty")
        conf.mkdir(exist_ok=True)
        if with_reader:
            (conf / "vpcd").write_text(
                f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:{self.card_port}\n'
                f"LIBPATH {VPCD_DRIVER}\nCHANNELID {self.card_port}\n",
                encoding="utf-8",
            )
        self.socket_path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.socket_path))
        listener.listen(32)
        fd = listener.fileno()
        env = {
            **os.environ,
            "LISTEN_FDS": "1",
            "PCSCLITE_HP_DROPDIR": str(self.directory / "drop"),
        }
        # LISTEN_PID must be pcscd's own pid and the socket fd 3: a small Python sets
        # both and becomes pcscd (exec keeps the pid).
        become = (
            "import os, sys; os.dup2(int(sys.argv[1]), 3); "
            "os.environ['LISTEN_PID'] = str(os.getpid()); os.execvp('pcscd', sys.argv[2:])"
        )
        command = ["pcscd", "--foreground", "--debug", "-c", str(conf)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", become, str(fd), *command],
                env=env,
                pass_fds=(fd,),
                stdout=log,
                stderr=log,
            )
        listener.close()  # pcscd holds it now; the test must not answer for it
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while "daemon ready" not in self.log.read_text(errors="replace").split("=====")[-1]:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"pcscd ended at start:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"pcscd not ready:\n{self.log.read_text()}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop it (SIGKILL: it dies); its socket goes with it, as with a stopped service."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(sig)
            self.process.wait(10)
            self.process = None
        self.socket_path.unlink(missing_ok=True)
        with self.log.open("a") as log:
            log.write("\n===== stopped =====\n")


class VirtualCard:
    """A card on vpcd's reader while its process runs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def present(self, uid: str) -> None:
        assert self.process is None, "a card is already on the reader"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.pcsc", uid, str(self.port)], cwd=ROOT
        )

    def remove(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None


def serve_card(uid: bytes, port: int) -> None:
    """The card's process: lie on vpcd's reader until killed. When vpcd goes (its pcscd
    stopped) the card stays where it is and is there again when vpcd listens again."""
    while True:
        try:
            link = socket.create_connection(("127.0.0.1", port))
        except OSError:
            time.sleep(0.1)
            continue
        with link, contextlib.suppress(OSError, EOFError):
            _answer(link, uid)


def _answer(link: socket.socket, uid: bytes) -> None:
    def receive(size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = link.recv(size - len(data))
            if not chunk:
                raise EOFError  # vpcd went
            data += chunk
        return data

    def send(message: bytes) -> None:
        link.sendall(struct.pack(">H", len(message)) + message)

    while True:
        (size,) = struct.unpack(">H", receive(2))
        message = receive(size)
        if size == 1:
            if message[0] == 4:
                send(ATR)
        elif message[:4] == GET_UID:
            send(uid + b"\x90\x00")
        else:
            send(b"\x6d\x00")  # instruction not supported


if __name__ == "__main__":
    serve_card(bytes.fromhex(sys.argv[1]), int(sys.argv[2]))
