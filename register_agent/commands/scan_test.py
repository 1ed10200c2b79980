"""``register-agent scan-test`` and ``register-agent scan``: the installer's view of the readers.

``scan-test`` opens the configured readers and shows, per frame, the raw bytes (escaped,
cut short), whether the scan pipeline accepted it and why not, and the canonical value a
UID was turned into when the reader sends UIDs in another form (``uid_format``). ``scan``
types a value into the running agent's virtual reader.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from typing import TYPE_CHECKING

from register_agent.errors import ConfigError

if TYPE_CHECKING:  # imported when a command runs: `register-agent --help` stays fast
    from collections.abc import Sequence

    from register_agent.config import AgentConfig, VirtualReaderConfig
    from register_agent.readers.reader import RawScan, Reader
    from register_agent.readers.scans import Outcome


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scan_test = commands.add_parser(
        "scan-test", help="show what the configured readers deliver (raw, accepted or why not)"
    )
    scan_test.add_argument("--count", type=int, default=0, help="stop after N scans")
    scan_test.add_argument("--seconds", type=float, default=0, help="stop after S seconds")
    scan_test.set_defaults(handler=scan_test_command)
    scan = commands.add_parser("scan", help="scan VALUE on the running agent's virtual reader")
    scan.add_argument("value", help="the text the virtual scanner sends (a CR is added)")
    scan.add_argument("--reader", default=None, help="which virtual reader (by name)")
    scan.set_defaults(handler=scan_command)


def scan_command(args: argparse.Namespace) -> int:
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)
    from register_agent.runtime.devices import inject_scan  # noqa: PLC0415

    reader = _virtual_reader(load_config(args.config), args.reader)
    inject_scan(reader, args.value.encode("utf-8") + b"\r")
    print(f"sent to virtual reader {reader.name}")
    return 0


def _virtual_reader(config: AgentConfig, name: str | None) -> VirtualReaderConfig:
    from register_agent.config import VirtualReaderConfig  # noqa: PLC0415

    virtual = [r for r in config.readers if isinstance(r, VirtualReaderConfig)]
    if not config.readers:  # `run --sandbox` adds this one when the config names no reader
        virtual = [VirtualReaderConfig(kind="virtual", name="counter")]
    chosen = [r for r in virtual if name in (None, r.name)]
    if not chosen:
        named = f" named {name}" if name else ""
        raise ConfigError(
            f'no virtual reader{named} in the config; add [[readers]] with kind = "virtual"'
        )
    return chosen[0]


def scan_test_command(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415 (lazy: asyncio alone costs `--help` 40 ms)

    from register_agent.config import load_config  # noqa: PLC0415

    config = load_config(args.config)
    if not args.verbose:  # the table below already says what the rejection log lines say
        logging.getLogger("register_agent.runtime.devices").setLevel(logging.WARNING)
    if not config.readers:
        raise ConfigError("no readers configured; add a [[readers]] section (see the example)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_scan_test(config, args.count, args.seconds or None))
    return 0


async def _scan_test(config: AgentConfig, count: int, seconds: float | None) -> None:
    import asyncio  # noqa: PLC0415

    from register_agent.readers.scans import Scan, ScanPipeline, escape_raw  # noqa: PLC0415
    from register_agent.runtime.devices import make_reader, run_readers  # noqa: PLC0415

    pipeline = ScanPipeline(config.scans, config.readers)
    enough = asyncio.Event()
    seen = 0

    forms = {r.name: r.uid_format for r in config.readers}
    canonical = config.scans.canonical_uid

    async def show(raw: RawScan, outcome: Outcome) -> None:
        nonlocal seen
        verdict = describe(outcome)
        form = forms.get(raw.reader, "hex")
        if form != canonical and isinstance(outcome, Scan) and outcome.value != _text(raw):
            verdict += f" (canonical {canonical} of a {form} UID)"
        print(f"{raw.reader:<12} {escape_raw(raw.data):<40} {verdict}", flush=True)
        seen += 1
        if count and seen >= count:
            enough.set()

    readers = [make_reader(reader) for reader in config.readers]
    names = [
        r.name
        + ("" if forms[r.name] == canonical else f" ({forms[r.name]} UIDs, kept as {canonical})")
        for r in readers
    ]
    print("scan now; Ctrl-C ends. Readers: " + ", ".join(names), flush=True)
    task = asyncio.create_task(run_readers(readers, pipeline, show))
    announcer = asyncio.create_task(_announce_ready(readers))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(enough.wait(), seconds)
    announcer.cancel()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    rejected = ", ".join(f"{reason}: {n}" for reason, n in pipeline.rejected.items()) or "none"
    print(f"accepted {pipeline.accepted}, repeats {pipeline.repeats}, rejected: {rejected}")
    for reader in readers:
        status = reader.status()
        if status.state != "ok" and status.detail != "closed":
            print(f"reader {status.name}: {status.state}, {status.detail}", file=sys.stderr)


async def _announce_ready(readers: Sequence[Reader]) -> None:
    """Say when each reader is open: scans sent before that are not read."""
    import asyncio  # noqa: PLC0415

    waiting = list(readers)
    while waiting:
        for reader in [r for r in waiting if r.status().state == "ok"]:
            print(f"{reader.name}: ready", flush=True)
            waiting.remove(reader)
        await asyncio.sleep(0.05)


def _text(raw: RawScan) -> str:
    """The frame as text, for telling a converted UID from one that passed as it came."""
    return raw.data.decode("utf-8", "replace").strip()


def describe(outcome: Outcome) -> str:
    """One outcome in the installer's words."""
    from register_agent.readers.scans import Rejection, Repeat  # noqa: PLC0415

    if isinstance(outcome, Rejection):
        return f"rejected: {outcome.reason}"
    if isinstance(outcome, Repeat):
        return "repeat within the debounce window (ignored)"
    return f"accepted {outcome.kind}: {outcome.value}"
