"""Where the agent's threads run (``[process] cpu``), set once at start before the journal's
threads exist, so every thread the agent starts afterwards inherits it.

Why one CPU by default: the agent is one Python process whose threads (the event loop, the
journal's writer and reader, the pass-through relay) take turns holding the interpreter's
lock, and a sale hands it between them at every commit and read. On one CPU a hand-over is
a switch on that CPU; across two, the thread that gets the lock waits for the other core to
wake up first. Measured on a two-core till (bench/README.md), all the agent's threads on
one CPU answered a card sale in 7.3 to 8.6 ms where spread over both took 10.7 to 11.1, a
sale without a card in 1.7 to 2.1 ms against 2.7, and no worse with both cores busy. What
one CPU gives up is little: the interpreter's lock lets one thread run Python at a time
anyway, and waiting for the disk or the network needs no CPU. The CPU is the one the
kernel started the agent on; an operator who wants another names it, or says "all".
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Set
from pathlib import Path
from typing import Literal

from register_agent.errors import ConfigError

log = logging.getLogger(__name__)

CpuSetting = Literal["one", "all"] | int


def keep_to_cpu(setting: CpuSetting) -> int | None:
    """Put every thread of this process on the CPU ``setting`` names; the CPU, or None
    when the threads stay where the kernel puts them ("all", one CPU only, or a system
    without CPU affinity)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = os.sched_getaffinity(0)
    cpu = chosen_cpu(setting, allowed, _current_cpu())
    if cpu is None:
        return None
    try:
        for thread in threading.enumerate():
            if thread.native_id is not None:
                os.sched_setaffinity(thread.native_id, {cpu})
    except OSError as exc:  # a system call filter, a container: slower, never stopped
        log.warning(
            "cannot keep the agent's threads on CPU %d (%s): they run where the kernel puts "
            'them; allow sched_setaffinity (the shipped unit does), or set [process] cpu = "all"',
            cpu,
            exc.strerror or exc,
        )
        return None
    log.info(
        "the agent's threads run on CPU %d of %s ([process] cpu = %s)",
        cpu,
        ",".join(str(number) for number in sorted(allowed)),
        f'"{setting}"' if isinstance(setting, str) else setting,
    )
    return cpu


def chosen_cpu(setting: CpuSetting, allowed: Set[int], current: int | None) -> int | None:
    """The CPU for ``setting`` among ``allowed`` (``current``: the one this process runs
    on now, if known); None to leave the threads be."""
    if setting == "all" or len(allowed) <= 1:
        return None
    if setting == "one":
        return current if current in allowed else max(allowed)
    if setting not in allowed:
        raise ConfigError(
            f"[process] cpu = {setting}: this agent may run on CPU "
            f"{', '.join(str(number) for number in sorted(allowed))} only; name one of them, "
            'or say "one" (the CPU it starts on) or "all"'
        )
    return setting


def _current_cpu() -> int | None:
    """The CPU this process ran on last (``processor``, field 39 of /proc/self/stat)."""
    try:
        stat = Path("/proc/self/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces: count after it
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[36])
    except (IndexError, ValueError):
        return None
