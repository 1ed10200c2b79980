"""The sandbox Register API in a process of its own (``register-agent sandbox``), for the
benchmarks where it serves while the POS times sales: in the benchmark's own process its
thread shared one interpreter lock with the POS's timing client, so a sale's answer could
wait for the sandbox's Python work on the benchmark's side, on any number of cores. A
Register API is another machine's server; the process stands for it. It runs where the
benchmark's process runs (the child keeps its CPUs: ``bench/runner.py``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from bench.agent_process import free_port


class SandboxProcess:
    """``with SandboxProcess(seed) as sandbox:``; ``sandbox.url`` answers inside."""

    def __init__(self, seed: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._seed = seed
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SandboxProcess:
        command = [sys.executable, "-m", "register_agent", "sandbox"]
        command += ["--port", str(self.port), "--seed", str(self._seed)]
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"the sandbox did not start: see {self._log}")
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        try:
            httpx.get(f"{self.url}/_sandbox/requests", timeout=1).raise_for_status()
        except httpx.HTTPError:
            return False
        return True

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
