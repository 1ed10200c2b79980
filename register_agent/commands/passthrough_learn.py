"""``register-agent passthrough-learn``: record the next job the till prints and propose the
template that finds its total.

It listens where ``[passthrough] listen`` says (or ``--listen``), takes one job from the
till, and forwards it to the configured printer (network or serial) through the agent's own
relay (``passthrough/relay.py``) with no loyalty block: byte for byte while it arrives, with
the printer's answers (status bytes) going back to the till, so the customer in front of
the till still gets the receipt, and the relay's path is the one the installer sees work.
Then it saves the job, shows its lines numbered, and writes the proposed
``[passthrough.template]`` (``register_agent/passthrough/learning.py``) to a file the
installer checks with ``passthrough-test`` and pastes into the config. It runs while the
agent is stopped (both would listen on the same port).
"""

from __future__ import annotations

import argparse
import errno
import queue
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from register_agent.errors import ConfigError

if TYPE_CHECKING:
    from register_agent.config import AgentConfig, PassthroughConfig
    from register_agent.passthrough.printer_link import PrinterTarget

#: a till that keeps its connection open between receipts: the job ends after this long
#: without a byte (once something has arrived)
IDLE_END_S = 3.0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    learn = commands.add_parser(
        "passthrough-learn",
        help="record the till's next print job and propose a [passthrough.template] for it",
    )
    learn.add_argument("--listen", default=None, help="address:port (default [passthrough] listen)")
    learn.add_argument(
        "--out", type=Path, default=Path("passthrough-job.bin"), help="where the job is saved"
    )
    learn.add_argument(
        "--template-out",
        type=Path,
        default=Path("passthrough-template.toml"),
        help="where the proposed template is written",
    )
    learn.add_argument(
        "--timeout", type=float, default=600.0, help="give up when no job came within S seconds"
    )
    learn.add_argument(
        "--no-forward",
        action="store_true",
        help="record only: the receipt is not printed (print it again from the till)",
    )
    learn.set_defaults(handler=passthrough_learn_command)


def passthrough_learn_command(args: argparse.Namespace) -> int:
    from register_agent.commands.passthrough import describe, show_lines  # noqa: PLC0415
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)
    from register_agent.config.passthrough import PassthroughConfig  # noqa: PLC0415
    from register_agent.passthrough.escpos_reader import StreamOutOfSync  # noqa: PLC0415
    from register_agent.passthrough.learning import propose_template, template_toml  # noqa: PLC0415
    from register_agent.passthrough.template import decode_for  # noqa: PLC0415

    config = load_config(args.config)
    passthrough = config.passthrough
    if args.listen is not None:
        try:
            passthrough = PassthroughConfig.model_validate(
                {**passthrough.model_dump(), "listen": args.listen}
            )
        except ValueError:
            raise ConfigError("--listen must be address:port, e.g. 127.0.0.1:9100") from None
    printer = None if args.no_forward else _printer_target(config)
    data = _record_one_job(passthrough, printer, args.timeout)
    args.out.write_bytes(data)
    print(f"recorded {len(data)} bytes to {args.out}")
    try:
        job = decode_for(data, passthrough)
    except StreamOutOfSync as exc:
        print(f"the reader lost its way at byte {exc.offset}: {exc.reason}")
        print("this printer's jobs would print untouched; tell us the till and printer model")
        return 1
    show_lines(job)
    proposal = propose_template(job)
    if proposal is None:
        reason = _why_no_proposal(job.has_text, job.has_image, len(data))
        print(f"no template to propose: {reason}; write [passthrough.template] total by hand")
        return 1
    args.template_out.write_text(template_toml(proposal.template), encoding="utf-8")
    number = (
        f", the receipt number on line {proposal.receipt_no_line}"
        if proposal.receipt_no_line
        else ""
    )
    print(f"\nproposed: the total on line {proposal.total_line}{number}")
    print(template_toml(proposal.template))
    print(describe(proposal.found))
    print(
        f"\nwritten to {args.template_out}; check it with "
        f"`register-agent passthrough-test {args.out} --template {args.template_out}`,\n"
        "add skip patterns for a merchant's copy or a card slip if the till prints them, "
        "then paste it into the config and set [passthrough] enabled = true"
    )
    return 0


def _why_no_proposal(has_text: bool, has_image: bool, size: int) -> str:
    if size == 0:
        return "the till connected but sent nothing"
    if has_text:
        return "no line has a word such as TOTAL, TOTAAL or TE BETALEN before an amount"
    if has_image:
        return "the receipt is printed as a picture, there is no text to read"
    return "the job prints no text"


def _printer_target(config: AgentConfig) -> PrinterTarget:
    """Where the relay forwards the job: the printer the running agent relays to."""
    from register_agent.runtime.devices import printer_address  # noqa: PLC0415

    printer = config.printer
    if printer is None:
        raise ConfigError(
            "no [printer] to forward the till's job to; configure the printer the till "
            "printed to, or pass --no-forward (the receipt then does not print)"
        )
    target = printer_address(printer, None)
    if target is None or (not callable(target) and not target[1]):
        raise ConfigError(
            f"passthrough-learn forwards to a network or serial printer only, and [printer] is "
            f'kind "{printer.kind}"; pass --no-forward and print the receipt again from the till'
        )
    return target


def _record_one_job(
    passthrough: PassthroughConfig, printer: PrinterTarget | None, timeout: float
) -> bytes:
    """The till's next job, relayed to ``printer`` by the agent's own relay (its printer's
    answers going back to the till) with no block: the one forwarding path there is."""
    from register_agent.passthrough.figures import PassthroughCounters  # noqa: PLC0415
    from register_agent.passthrough.judge import Untouched  # noqa: PLC0415
    from register_agent.passthrough.relay import Relay, RelaySettings  # noqa: PLC0415

    jobs: queue.Queue[bytes] = queue.Queue()
    counters = PassthroughCounters()  # nothing saved: the agent's figures stay its own
    listen = (passthrough.listen_host, passthrough.listen_port)
    settings = RelaySettings(
        listen=listen,
        printer=printer or _Discard,
        idle_s=IDLE_END_S,
        cut_dialect=passthrough.cut_dialect,
    )
    relay = Relay(settings, Untouched(), counters, threading.Lock(), on_job=jobs.put)
    try:
        host, port = relay.start()
    except ConfigError as exc:
        if isinstance(exc.__cause__, OSError) and exc.__cause__.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"{listen[0]}:{listen[1]} is taken, most likely by the running agent's "
                "pass-through: stop it (systemctl stop register-agent) while learning, "
                "or pass --listen with a free port"
            ) from None
        raise
    try:
        forward = ""
        if printer is not None:
            where = "on its serial line" if callable(printer) else "at {}:{}".format(*printer)
            forward = f", forwarding to the printer {where}"
        print(f"listening on {host}:{port}{forward}; print a receipt on the till now", flush=True)
        try:
            return jobs.get(timeout=timeout)
        except queue.Empty:
            if counters.figures().passed.get("printer_unreachable"):
                raise ConfigError(
                    "the till's job came, but the printer cannot be reached: switch it on "
                    "and check [printer], or pass --no-forward, then print again"
                ) from None
            raise ConfigError(
                f"no job arrived within {timeout:g} s; is the till's printer set to this "
                "machine's address and port?"
            ) from None
    finally:
        relay.stop()


class _Discard:
    """``--no-forward``: a printer line that takes every byte and never answers."""

    def __init__(self) -> None:
        self._quiet, self._other = socket.socketpair()
        self.in_waiting = 0

    def fileno(self) -> int:
        return self._quiet.fileno()

    def read(self, size: int) -> bytes:
        return b""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._quiet.close()
        self._other.close()
