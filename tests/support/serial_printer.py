"""A receipt printer on a serial line, in a process of its own, for the pass-through's tests
with ``[printer] kind = "serial"``: it opens a pty pair, and the agent opens the pty's far
end as the printer's serial port. It records every byte it receives to a file, and answers
``DLE EOT n`` as an Epson TM does in the state written in its state file (``ok`` or
``paper_out``), so a till's status query gets this printer's answer back through the relay.
Like a printer whose buffer fills, it sends XOFF (DC3) once it has received the number of
bytes ``pause_after`` names, and XON (DC1) when ``resume`` says its buffer has drained.

``python -m tests.support.serial_printer RECORD STATE`` prints ``SERIAL <pty path>``.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import tty
from pathlib import Path

from drivers.virtual_printer import STATUS_ANSWERS, VirtualState

ROOT = Path(__file__).resolve().parents[2]


class SerialPrinter:
    """The printer's process; ``received()`` is every byte it got, in order."""

    def __init__(self, folder: Path) -> None:
        self._record = folder / "serial-printer.bin"
        self._state = folder / "serial-printer.state"
        self._flow = _flow_file(self._state)
        self._record.write_bytes(b"")
        self._flow.write_text("", encoding="ascii")
        self.state = VirtualState.OK
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.serial_printer", self._record, self._state],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            text=True,
        )
        assert self.process.stdout is not None
        words = self.process.stdout.readline().split()
        if len(words) != 2 or words[0] != "SERIAL":
            self.process.kill()
            raise AssertionError(f"the serial printer did not start: {words}")
        self.path = words[1]

    @property
    def state(self) -> VirtualState:
        return VirtualState(self._state.read_text(encoding="ascii"))

    @state.setter
    def state(self, state: VirtualState) -> None:
        self._state.write_text(str(state), encoding="ascii")

    @property
    def address(self) -> tuple[str, int]:
        """No network address: ``PassthroughAgent`` writes the serial ``[printer]``."""
        return "127.0.0.1", 9

    def pause_after(self, count: int) -> None:
        """Send XOFF once ``count`` bytes have come (counted from the printer's start)."""
        self._flow.write_text(f"xoff {count}", encoding="ascii")

    def resume(self) -> None:
        """Send XON: the buffer has drained."""
        self._flow.write_text("xon", encoding="ascii")

    def received(self) -> bytes:
        return self._record.read_bytes()

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(Exception):
            self.process.wait(5)


def _flow_file(state: Path) -> Path:
    return state.with_suffix(".flow")


def _flow(printer: int, flow: Path, received: int, paused: bool) -> bool:
    """XOFF or XON as the flow file says; whether the printer is paused now."""
    words = flow.read_text(encoding="ascii").split()
    if not paused and words[:1] == ["xoff"] and received >= int(words[1]):
        os.write(printer, b"\x13")
        return True
    if paused and words == ["xon"]:
        os.write(printer, b"\x11")
        return False
    return paused


def _serve(record: Path, state: Path) -> None:
    # the far end stays open here as well, so the line lives on between the agent's jobs
    printer, far_end = os.openpty()
    tty.setraw(far_end)
    print("SERIAL", os.ttyname(far_end), flush=True)
    pending = b""  # a query cut in two by the line
    received, paused = 0, False
    with record.open("ab", buffering=0) as out:
        while True:
            paused = _flow(printer, _flow_file(state), received, paused)
            if not select.select([printer], [], [], 0.02)[0]:
                continue  # a flow file that changes while the line is quiet
            data = os.read(printer, 4096)  # this process holds the far end too: no EOF
            received += len(data)
            out.write(data)
            pending += data
            while (at := pending.find(b"\x10\x04")) != -1 and len(pending) > at + 2:
                query = pending[at + 2]
                if 1 <= query <= 4:
                    answers = STATUS_ANSWERS[VirtualState(state.read_text(encoding="ascii"))]
                    os.write(printer, answers[query - 1 : query])
                pending = pending[at + 3 :]
            pending = pending[-2:]


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), Path(sys.argv[2]))
