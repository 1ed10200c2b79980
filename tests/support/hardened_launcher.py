"""Starts ``register_agent`` under the unit's process restrictions, without systemd as init:
``NoNewPrivileges=yes``, ``MemoryDenyWriteExecute=yes`` (the kernel's PR_SET_MDWE) and
the unit's own ``SystemCallFilter=`` lines, read from systemd/register-agent.service and
applied in their order as systemd does (the first an allow list, then ``~`` removes and a
plain line adds), with ``SystemCallErrorNumber=EPERM`` (a seccomp filter built from
``systemd-analyze syscall-filter``, so the sets are systemd's own). x86-64 only.

Usage: ``python tests/support/hardened_launcher.py ARGS...`` runs ``register-agent ARGS...``;
``python tests/support/hardened_launcher.py --probe`` exits 0 if a filtered call is refused.
"""

from __future__ import annotations

import ctypes
import os
import re
import runpy
import struct
import subprocess
import sys
from pathlib import Path

UNISTD = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
UNIT = Path(__file__).resolve().parents[2] / "systemd" / "register-agent.service"

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, PR_SET_MDWE = 38, 22, 65
SECCOMP_MODE_FILTER, PR_MDWE_REFUSE_EXEC_GAIN = 2, 1
AUDIT_ARCH_X86_64 = 0xC000003E
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
EPERM = 1
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06
X32_SYSCALL_BIT = 0x40000000


def syscall_groups() -> dict[str, list[str]]:
    text = subprocess.run(
        ["systemd-analyze", "syscall-filter", "--no-pager"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    groups: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(names: tuple[str, ...], groups: dict[str, list[str]]) -> set[str]:
    found: set[str] = set()
    for name in names:
        if name.startswith("@"):
            found |= expand(tuple(groups.get(name, [])), groups)
        else:
            found.add(name)
    return found


def allowed_numbers() -> list[int]:
    numbers = {
        match.group(1): int(match.group(2))
        for match in re.finditer(r"#define __NR_(\w+) (\d+)", UNISTD.read_text(encoding="ascii"))
    }
    names = unit_filter(UNIT.read_text(encoding="utf-8"), syscall_groups())
    return sorted(numbers[name] for name in names if name in numbers)


def unit_filter(unit: str, groups: dict[str, list[str]]) -> set[str]:
    """The system calls the unit's ``SystemCallFilter=`` lines allow, taken in order."""
    allowed: set[str] = set()
    lines = [
        line.split("=", 1)[1].strip()
        for line in unit.splitlines()
        if line.startswith("SystemCallFilter=")
    ]
    if not lines or lines[0].startswith("~"):
        raise SystemExit("the unit's first SystemCallFilter= must be an allow list")
    for line in lines:
        names = expand(tuple(line.removeprefix("~").split()), groups)
        allowed = allowed - names if line.startswith("~") else allowed | names
    return allowed


def _instruction(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def filter_program(numbers: list[int]) -> bytes:
    """arch check, then "nr == N: allow" per allowed call, else EPERM (as systemd does)."""
    program = [
        _instruction(BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        _instruction(BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        _instruction(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),  # SystemCallArchitectures
        _instruction(BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        _instruction(BPF_JEQ_K, 0, 1, X32_SYSCALL_BIT),  # never equal: keeps offsets simple
        _instruction(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM),
    ]
    for number in numbers:
        program.append(_instruction(BPF_JEQ_K, 0, 1, number))
        program.append(_instruction(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    program.append(_instruction(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM))
    return b"".join(program)


def restrict() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    program = filter_program(allowed_numbers())
    buffer = ctypes.create_string_buffer(program)
    fprog = struct.pack("HxxxxxxP", len(program) // 8, ctypes.addressof(buffer))
    fprog_buffer = ctypes.create_string_buffer(fprog)
    for call in (
        (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
        (PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0),
        (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog_buffer), 0, 0),
    ):
        if libc.prctl(*[ctypes.c_ulong(arg) for arg in call]) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl{call[:2]}: {os.strerror(errno)}")


def main() -> None:
    restrict()
    if sys.argv[1:] == ["--probe"]:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, 1)  # @resources: refused with EPERM
        except PermissionError:
            sys.exit(0)
        sys.exit("the filter is not in force: setpriority() was allowed")
    sys.argv = ["register-agent", *sys.argv[1:]]
    runpy.run_module("register_agent", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
