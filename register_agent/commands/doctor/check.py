"""One line of ``register-agent doctor``: a check's name, its verdict and, when it did not
pass, the fix the installer can apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: WARN: works, and the installer should know something about it (it fails nothing)
Verdict = Literal["PASS", "WARN", "FAIL", "SKIP"]


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f"\n       fix: {self.fix}" if self.fix and self.verdict != "PASS" else ""
        return f"{self.verdict}  {self.name}: {self.detail}{fix}"


def passed(name: str, detail: str) -> Check:
    return Check(name, "PASS", detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, "FAIL", detail, fix)
