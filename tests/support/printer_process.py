"""The virtual TCP printer (``drivers/virtual_printer.py``) in a process of its own, for the
tests that run the real agent: the agent prints to it over loopback like to a port-9100
printer, and the test drives and reads it through its control port (``state``,
``paper_after``, ``dump``), so nothing of the printer shares the test's process or threads.

``python -m tests.support.printer_process`` starts one and prints ``PRINTER PORT CONTROL``.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from drivers.virtual_printer import PrintJob, VirtualPrinter, VirtualState

ROOT = Path(__file__).resolve().parents[2]


class PrinterProcess:
    """The printer's process, with the parts of ``VirtualPrinter`` the harness reads."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.printer_process"],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            text=True,
        )
        assert self.process.stdout is not None
        words = self.process.stdout.readline().split()
        if len(words) != 3 or words[0] != "PRINTER":
            self.process.kill()
            raise AssertionError(f"the printer process did not start: {words}")
        self._port, self._control_port = int(words[1]), int(words[2])
        self._control = socket.create_connection(("127.0.0.1", self._control_port), timeout=5)
        self._lines = self._control.makefile("rw", encoding="ascii", newline="\n")

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self._port

    def control(self, command: str) -> str:
        self._lines.write(command + "\n")
        self._lines.flush()
        return self._lines.readline().strip()

    @property
    def state(self) -> VirtualState:
        return VirtualState(self.control("state").split()[1])

    @state.setter
    def state(self, state: VirtualState) -> None:
        self.control(f"state {state}")

    def run_out_of_paper_after(self, byte_count: int) -> None:
        self.control(f"paper_after {byte_count}")

    def jobs(self) -> list[PrintJob]:
        return [
            PrintJob(bytes.fromhex(j["data"]), bytes.fromhex(j["printed"]), j["closed"])
            for j in json.loads(self.control("dump"))
        ]

    def connections(self) -> int:
        """How many connections the printer saw, status checks alone included."""
        return int(self.control("connections").split()[1])

    def printed(self) -> list[bytes]:
        return [job.data for job in self.jobs() if job.complete]

    def stop(self) -> None:
        if self.process.poll() is None:
            self._lines.close()
            self._control.close()
            self.process.terminate()
            self.process.wait(5)


def main() -> None:
    printer = VirtualPrinter().start()
    control = printer.start_control()
    print(f"PRINTER {printer.address[1]} {control}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    printer.stop()


if __name__ == "__main__":
    main()
