"""``register-agent passthrough-learn``: record the next job the till prints and propose the
template that finds its total.

It listens where ``[passthrough] listen`` says (or ``--listen``), takes one job from the
till, and forwards it byte for byte to the configured network printer while it arrives,
with the printer's answers (status bytes) going back to the till, so the customer in front
of the till still gets the receipt. Then it saves the job, shows its lines numbered, and
writes the proposed ``[passthrough.template]`` (``register_agent/passthrough/learning.py``)
to a file the installer checks with ``passthrough-test`` and pastes into the config.

The forwarding is deliberately small: one connection, no loyalty block, no held cut. The
running agent's relay does the real work; this command runs while the agent is stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import selectors
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from register_agent.errors import ConfigError

if TYPE_CHECKING:
    from register_agent.config import AgentConfig

#: a till that keeps its connection open between receipts: the job ends after this long
#: without a byte (once something has arrived)
IDLE_END_S = 3.0
_CHUNK = 65536


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
    printer = None if args.no_forward else _printer_address(config)
    data = _record_one_job(
        (passthrough.listen_host, passthrough.listen_port), printer, args.timeout
    )
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


def _printer_address(config: AgentConfig) -> tuple[str, int]:
    printer = config.printer
    if printer is None:
        raise ConfigError(
            "no [printer] to forward the till's job to; configure the printer the till "
            "printed to, or pass --no-forward (the receipt then does not print)"
        )
    if printer.kind not in ("network", "virtual") or not getattr(printer, "port", 0):
        raise ConfigError(
            f"passthrough-learn forwards to a network printer only, and [printer] is "
            f'kind "{printer.kind}"; pass --no-forward and print the receipt again from the till'
        )
    return str(getattr(printer, "host")), int(getattr(printer, "port"))  # noqa: B009


def _record_one_job(
    listen: tuple[str, int], printer: tuple[str, int] | None, timeout: float
) -> bytes:
    try:
        server = socket.create_server(listen)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"{listen[0]}:{listen[1]} is taken, most likely by the running agent's "
                "pass-through: stop it (systemctl stop register-agent) while learning, "
                "or pass --listen with a free port"
            ) from None
        raise ConfigError(f"cannot listen on {listen[0]}:{listen[1]}: {exc.strerror}") from None
    with server:
        host, port = server.getsockname()[:2]
        forward = f", forwarding to the printer at {printer[0]}:{printer[1]}" if printer else ""
        print(f"listening on {host}:{port}{forward}; print a receipt on the till now", flush=True)
        server.settimeout(timeout)
        try:
            till, _ = server.accept()
        except TimeoutError:
            raise ConfigError(
                f"no job arrived within {timeout:g} s; is the till's printer set to this "
                "machine's address and port?"
            ) from None
    with till, contextlib.ExitStack() as stack:
        printer_socket = None
        if printer is not None:
            try:
                printer_socket = socket.create_connection(printer, timeout=5)
                stack.enter_context(printer_socket)
            except OSError as exc:
                print(
                    f"the printer at {printer[0]}:{printer[1]} did not answer ({exc}); "
                    "the job is recorded but not printed: print it again from the till"
                )
        return _relay(till, printer_socket, timeout)


def _relay(till: socket.socket, printer: socket.socket | None, timeout: float) -> bytes:
    """The till's bytes until it closes (or goes quiet), each passed on to the printer as
    it arrives; the printer's answers go back to the till at once."""
    job = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(till, selectors.EVENT_READ, "till")
        if printer is not None:
            selector.register(printer, selectors.EVENT_READ, "printer")
        while True:
            events = selector.select(IDLE_END_S if job else timeout)
            if not events:
                return bytes(job)
            for key, _ in events:
                peer = key.fileobj
                assert isinstance(peer, socket.socket)
                try:
                    chunk = peer.recv(_CHUNK)
                except OSError:
                    chunk = b""
                if key.data == "till":
                    if not chunk:
                        return bytes(job)
                    job += chunk
                    printer = _pass_on(selector, printer, chunk)
                elif chunk:
                    till.sendall(chunk)
                else:  # the printer hung up: keep recording what the till sends
                    printer = _pass_on(selector, printer, None)


def _pass_on(
    selector: selectors.BaseSelector, printer: socket.socket | None, chunk: bytes | None
) -> socket.socket | None:
    """Send ``chunk`` to the printer; a printer gone (or ``chunk`` None) is let go."""
    if printer is None:
        return None
    if chunk is not None:
        try:
            printer.sendall(chunk)
        except OSError:
            chunk = None
    if chunk is None:
        print("the printer closed the connection; the rest of the job is recorded only")
        selector.unregister(printer)
        return None
    return printer
