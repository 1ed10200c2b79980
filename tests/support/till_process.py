"""A till that prints to the agent's pass-through port, in a process of its own: it sends a
recorded job over one TCP connection, as a POS prints to a network printer, and reports
what came back (the printer's status bytes, relayed by the agent).

``python -m tests.support.till_process HOST PORT FILE [--ask HEX] [--hold S]``: with
``--ask`` it first sends those bytes (e.g. ``1004 01``, DLE EOT 1) and waits for one byte
of answer before sending the job, as a till that checks its printer first does; ``--hold``
keeps the connection open that long after the job. It prints ``ANSWER <hex>`` and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def replay(address: tuple[str, int], job: Path, *, ask: bytes = b"", hold_s: float = 0.0) -> bytes:
    """Run the till process; the bytes the printer answered to ``ask`` (via the agent)."""
    command = [sys.executable, "-m", "tests.support.till_process", address[0], str(address[1])]
    command += [str(job), "--ask", ask.hex(), "--hold", str(hold_s)]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"the till process failed: {done.stderr}")
    word = done.stdout.split()[1]
    return b"" if word == "-" else bytes.fromhex(word)


def replay_in_background(
    address: tuple[str, int], job: Path, *, hold_s: float
) -> subprocess.Popen[bytes]:
    """The till process, left running: it holds its connection ``hold_s`` after the job."""
    command = [sys.executable, "-m", "tests.support.till_process", address[0], str(address[1])]
    command += [str(job), "--hold", str(hold_s)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("file", type=Path)
    parser.add_argument("--ask", default="")
    parser.add_argument("--hold", type=float, default=0.0)
    args = parser.parse_args()
    answer = b""
    with socket.create_connection((args.host, args.port), timeout=10) as till:
        if args.ask:
            till.sendall(bytes.fromhex(args.ask))
            answer = till.recv(1)  # the till waits for its printer's status byte
        till.sendall(args.file.read_bytes())
        with contextlib.suppress(OSError):  # the agent may die meanwhile: the job ends
            if args.hold:
                _hold(till, args.hold)
            till.shutdown(socket.SHUT_WR)
            till.settimeout(10)
            while till.recv(4096):  # the printer's last answers, until the agent closes
                pass
    print(f"ANSWER {answer.hex() or '-'}", flush=True)


def _hold(till: socket.socket, seconds: float) -> None:
    """Keep the connection open ``seconds`` (reading what comes back), or until it ends."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        till.settimeout(left)
        try:
            if not till.recv(4096):
                raise ConnectionResetError("the agent closed the connection")
        except TimeoutError:
            return


if __name__ == "__main__":
    main()
