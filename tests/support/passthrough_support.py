"""The pass-through end to end: the real agent with ``[passthrough]`` on, between a till
process (``till_process.py``) and the TCP printer in its own process
(``printer_process.py``), against the sandbox."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tty
from pathlib import Path
from typing import Any

import qrcode

from tests.support.agent_harness import AgentProcess, wait_for
from tests.support.ports import free_port

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "escpos"
#: a real receipt from escpos-tools (a logo as raster, text, "Total $ 14.25", one cut)
RECEIPT = FIXTURES / "escpos-tools-receipt-with-logo.bin"
RECEIPT_CUT = 9570
#: its drawer pulse after the cut: the relay sends it ahead of a cut it holds
RECEIPT_PULSE = b"\x1bp0<x"


class PassthroughAgent(AgentProcess):
    """An ``AgentProcess`` whose till prints through it (``till_address``)."""

    def __init__(
        self, home: Path, *args: Any, template: str = "", serial: bool = False, **kwargs: Any
    ) -> None:
        self.till_port = free_port()
        self._template = template
        # the till's serial cable: the agent opens the pty's far end as its serial line
        self.till_line: int | None = None
        serial_line = ""
        if serial:
            self.till_line, far_end = os.openpty()
            tty.setraw(far_end)
            self._far_end = far_end
            serial_line = f'serial_device = "{os.ttyname(far_end)}"\nserial_idle_gap_s = 0.3\n'
        self._serial_line = serial_line
        kwargs.setdefault("prints", "pos")  # the till prints its own receipts
        super().__init__(home, *args, **kwargs)

    def start(self, crash_at: str | None = None) -> PassthroughAgent:
        """Started, and its card reader open: a scan written before the reader opens the
        pty may be dropped with the line's stale input (the relay's warm-up makes the
        start a little longer than other tests')."""
        super().start(crash_at)
        wait_for(lambda: self.status()["readers"] == ["counter: ok"], 10, "the card reader to open")
        return self

    def close(self) -> None:
        super().close()
        if self.till_line is not None:
            for fd in (self.till_line, self._far_end):
                with contextlib.suppress(OSError):
                    os.close(fd)

    @property
    def till_address(self) -> tuple[str, int]:
        return "127.0.0.1", self.till_port

    def _write_config(self, base_url: str, receipt_wait_s: float, concurrency: int) -> None:
        super()._write_config(base_url, receipt_wait_s, concurrency)
        serial_path = getattr(self.printer, "path", None)
        if serial_path is not None:  # a printer on a serial line (support/serial_printer.py)
            text = self.config_path.read_text(encoding="utf-8")
            network = re.search(r'\[printer\]\nkind = "network"\nhost = "[^"]*"\nport = \d+', text)
            assert network is not None
            serial = f'[printer]\nkind = "serial"\nport = "{serial_path}"\nflow_control = "none"'
            self.config_path.write_text(text.replace(network.group(0), serial), encoding="utf-8")
        with self.config_path.open("a", encoding="utf-8") as config:
            config.write(
                f'\n[passthrough]\nenabled = true\nlisten = "127.0.0.1:{self.till_port}"\n'
                f"{self._serial_line}\n[passthrough.template]\n{self._template}\n"
            )


def qr_payloads(job: bytes) -> list[str]:
    """The data of every native QR code the job stores (``GS ( k`` fn 80)."""
    found, at = [], 0
    while (at := job.find(b"\x1d(k", at)) != -1:
        size = job[at + 3] + 256 * job[at + 4]
        body = job[at + 5 : at + 5 + size]
        if body[:3] == b"1P0":
            found.append(body[3:].decode("ascii"))
        at += 5 + size
    return found


def zbar_decodes(data: str, folder: Path) -> list[str]:
    """Draw the QR the printer draws from ``data`` and read it back with zbarimg."""
    if shutil.which("zbarimg") is None:
        raise AssertionError("zbarimg is not installed (Debian zbar-tools)")
    path = folder / "qr.png"
    qrcode.make(data, error_correction=qrcode.constants.ERROR_CORRECT_M).save(path)
    done = subprocess.run(
        ["zbarimg", "--raw", "-q", str(path)],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return done.stdout.split()
