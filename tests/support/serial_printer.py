"""A receipt printer on a serial line, in a process of its own, for the pass-through's tests
with ``[printer] kind = "serial"``: it opens a pty pair, and the agent opens the pty's far
end as the printer's serial port. It records every byte it receives to a file, and answers
``DLE EOT n`` as an Epson TM does in the state written in its state file (``ok`` or
``paper_out``), so a till's status query gets this printer's answer back through the relay.

``python -m tests.support.serial_printer RECORD STATE`` prints ``SERIAL <pty path>``.
"""

from __future__ import annotations

import contextlib
import os
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
        self._record.write_bytes(b"")
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

    def received(self) -> bytes:
        return self._record.read_bytes()

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(Exception):
            self.process.wait(5)


def _serve(record: Path, state: Path) -> None:
    # the far end stays open here as well, so the line lives on between the agent's jobs
    printer, far_end = os.openpty()
    tty.setraw(far_end)
    print("SERIAL", os.ttyname(far_end), flush=True)
    pending = b""  # a query cut in two by the line
    with record.open("ab", buffering=0) as out:
        while True:
            data = os.read(printer, 4096)  # this process holds the far end too: no EOF
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
