"""The ``register-agent`` command: one sub-command per job an installer or developer runs.

Each sub-command imports what it needs only when it runs, so ``register-agent --help``
and the light commands start fast on a Raspberry Pi.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from register_agent import __version__
from register_agent.commands import scan_test, status
from register_agent.commands.demo import run as demo
from register_agent.errors import ConfigError, RegisterAgentError

if TYPE_CHECKING:  # the config is imported when a command runs: `--help` stays fast
    from register_agent.config import AgentConfig

Command = Callable[[argparse.Namespace], int]


def _config_check(args: argparse.Namespace) -> int:
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)

    config = load_config(args.config)
    key = "set" if config.api.api_key else "not set"
    print(f"config ok: Register API {config.api.version} at {config.api.base_url}, API key {key}")
    return 0


def _print_test(args: argparse.Namespace) -> int:
    """Print (or preview) the test receipt; 0 when it printed, 1 when the printer refused."""
    import asyncio  # noqa: PLC0415 (lazy: start-up cost)

    from register_agent.config import load_config  # noqa: PLC0415
    from register_agent.receipts.layout import layout_receipt, print_test_receipt  # noqa: PLC0415
    from register_agent.runtime.devices import print_test, write_receipt_preview  # noqa: PLC0415

    config = load_config(args.config)
    width = config.printer.line_width if config.printer else 42
    if args.status_ticket:
        return _status_ticket(config, width, args.preview)
    receipt = print_test_receipt(config.receipt, f"{config.api.loyalty_token_base_url}/test")
    layout = layout_receipt(receipt, config.receipt, width)
    if args.preview:
        write_receipt_preview(layout, args.preview)
        print(f"preview written to {args.preview} ({width} characters a line)")
        return 0
    if config.printer is None:
        raise ConfigError("no [printer] section in the config; add one (see the example file)")
    before, after = asyncio.run(print_test(config.printer, layout))
    print(f"printer {config.printer.kind}: {before.state}; {before.message}")
    if after is None:
        return 1
    print(f"test receipt printed; printer now {after.state}: {after.message}")
    return 0


def _status_ticket(config: Any, width: int, preview: Path | None) -> int:
    """The installer's status slip: printed, or drawn with --preview; shown on screen too."""
    import asyncio  # noqa: PLC0415 (lazy: start-up cost)

    from register_agent.receipts.status_ticket import status_layout, status_lines  # noqa: PLC0415
    from register_agent.runtime.devices import print_test, write_receipt_preview  # noqa: PLC0415

    lines = asyncio.run(status_lines(config))
    print("\n".join(lines))
    layout = status_layout(lines, width)
    if preview:
        write_receipt_preview(layout, preview)
        return 0
    if config.printer is None:
        raise ConfigError("no [printer] section in the config; add one (see the example file)")
    before, after = asyncio.run(print_test(config.printer, layout))
    print(f"printer {config.printer.kind}: {before.state}; {before.message}")
    return 0 if after is not None else 1


def _sandbox(args: argparse.Namespace) -> int:
    from register_agent.sandbox import serve_forever  # noqa: PLC0415 (lazy: start-up cost)

    return serve_forever(args.host, args.port, args.seed)


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="run the agent (--sandbox: against the built-in sandbox, with virtual devices)",
    )
    run.add_argument(
        "--sandbox",
        action="store_true",
        help="the embedded default: built-in sandbox Register API, virtual reader and printer",
    )
    run.add_argument("--api-version", choices=["v1", "v3"], default="v3", help="with --sandbox")
    run.add_argument("--sandbox-port", type=int, default=8720, help="with --sandbox (0 = free)")
    run.add_argument(
        "--state-dir", type=Path, default=None, help="with --sandbox (default: a new temp dir)"
    )
    run.add_argument(
        "--listen", default=None, help="the local API's address, instead of [local_api] listen"
    )
    run.set_defaults(handler=_run)


def _add_sandbox(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser(
        "sandbox", help="run the sandbox Register API (v1 and v3) on this machine"
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8720, help="port (default 8720, 0 = free)")
    sandbox.add_argument("--seed", type=Path, default=None, help="seed TOML (default: built-in)")
    sandbox.set_defaults(handler=_sandbox)


def _run(args: argparse.Namespace) -> int:
    """The agent itself; ``--sandbox`` is the embedded default of the README."""
    import asyncio  # noqa: PLC0415 (lazy: start-up cost)

    from register_agent.config import load_config  # noqa: PLC0415
    from register_agent.runtime.agent import Agent  # noqa: PLC0415
    from register_agent.runtime.embedded import BANNER, embed, require_api_key  # noqa: PLC0415

    config = _listening(load_config(args.config), args.listen)
    _configure_logs(config, verbose=args.verbose)
    if not args.sandbox:
        require_api_key(config)
        agent = Agent(lambda: _listening(load_config(args.config), args.listen))
        return asyncio.run(agent.run())
    embedded = embed(
        config, version=args.api_version, sandbox_port=args.sandbox_port, state_dir=args.state_dir
    )
    print(BANNER, flush=True)
    try:
        agent = Agent(lambda: embedded.config)
        return asyncio.run(_run_announced(agent, embedded.sandbox.url))
    finally:
        embedded.close()


def _listening(config: AgentConfig, listen: str | None) -> AgentConfig:
    """``config`` with the local API on ``--listen`` when it was given."""
    if listen is None:
        return config
    return config.model_copy(
        update={"local_api": config.local_api.model_copy(update={"listen": listen})}
    )


def _configure_logs(config: Any, *, verbose: bool) -> None:
    """The ``[logging]`` section, now that the config is read; -v still means debug."""
    from register_agent.common.logs import configure, secrets_of  # noqa: PLC0415

    level = logging.DEBUG if verbose else getattr(logging, config.logging.level.upper())
    configure(config.logging.format, level, secrets=secrets_of(config))


async def _run_announced(agent: Any, sandbox_url: str) -> int:
    """Run the agent and, once it is ready, tell a new user how to drive it."""
    import asyncio  # noqa: PLC0415

    async def announce() -> None:
        while not hasattr(agent, "api_address"):
            await asyncio.sleep(0.05)
        config = agent.config
        token_file = config.state.directory / "local-api-token"
        print(
            f" sandbox Register API: {sandbox_url}  (ledger: {sandbox_url}/_sandbox/ledger)\n"
            f" local API for the POS: http://{agent.api_address}  (docs: /docs)\n"
            f" local API token:      in {token_file}\n"
            f" journal:              {config.state.directory / 'journal.sqlite3'}\n"
            f" till status:          register-agent status --state-dir {config.state.directory}"
            f" --listen {agent.api_address}\n"
            " try it:\n"
            "   register-agent scan A1B2C3D4        # Jan's loyalty card on the virtual reader\n"
            f'   curl -H "Authorization: Bearer $(cat {token_file})" \\\n'
            f'        -d \'{{"sale_id": "1", "amount": "12.50"}}\' '
            f"-H 'Content-Type: application/json' http://{agent.api_address}/v1/sales\n"
            " Ctrl-C stops it.",
            flush=True,
        )

    shout = asyncio.create_task(announce())
    try:
        return int(await agent.run())
    finally:
        shout.cancel()


def _doctor(args: argparse.Namespace) -> int:
    from register_agent.commands.doctor import run_doctor  # noqa: PLC0415
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)

    if not args.verbose:  # the checks' own lines say it; the client's retries are noise here
        logging.getLogger("register_agent.loyalty").setLevel(logging.WARNING)
    return run_doctor(lambda: load_config(args.config), contact=args.contact)


def _review(args: argparse.Namespace) -> int:
    from register_agent.commands.review import review_command  # noqa: PLC0415
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)

    if args.balance is not None and not args.giftcard_applied:
        raise ConfigError("--balance goes with --giftcard-applied PAYMENT_ID only")
    config = load_config(args.config)
    return review_command(
        config.state.directory,
        args.applied,
        args.resend,
        giftcard_applied=args.giftcard_applied,
        giftcard_not_applied=args.giftcard_not_applied,
        balance_cents=args.balance,
    )


def _cents(text: str) -> int:
    """``--balance 12.50``: euros as the dashboard shows them, kept in cents."""
    try:
        amount = Decimal(text.replace(",", "."))
    except ArithmeticError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount; write e.g. 12.50") from exc
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount; write e.g. 12.50")
    return int(amount * 100)


def _transfer(args: argparse.Namespace) -> int:
    from register_agent.commands.review import who_decides  # noqa: PLC0415
    from register_agent.commands.transfer import (  # noqa: PLC0415
        describe,
        export_operations,
        import_operations,
    )
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)

    state = load_config(args.config).state.directory
    if args.command == "export":
        result = export_operations(
            state, args.file, by=who_decides(), agent_stopped=args.agent_stopped
        )
        print(describe(result, "exported to", args.file))
        if result.operations:
            print(f"{args.file} holds card values: keep it private, delete it after import")
    else:
        print(
            describe(
                import_operations(state, args.file, by=who_decides()), "imported from", args.file
            )
        )
    return 0


def _add_operations_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """doctor, review, export and import: the installer's and operator's commands."""
    doctor = commands.add_parser("doctor", help="check config, API, clock, journal and devices")
    doctor.add_argument(
        "--contact", metavar="UUID", help="v3: a customer whose transactions show the attributes"
    )
    doctor.set_defaults(handler=_doctor)
    review = commands.add_parser(
        "review",
        help="operations and giftcard payments a person must decide on",
        description="Without options: list the operations and the giftcard payments whose "
        "outcome nothing could tell, with what to check in the dashboard. With one option: "
        "record the decision on one of them (kept in the journal with who and when); it "
        "works while the agent runs. Giftcard payment ids are the POS's own and may equal "
        "an operation id: they have options of their own.",
    )
    decision = review.add_mutually_exclusive_group()
    decision.add_argument("--applied", metavar="OP_ID", help="the credits are there: done")
    decision.add_argument("--resend", metavar="OP_ID", help="they are not: send it again")
    # giftcard payment ids are the POS's and may equal an operation id: flags of their own
    decision.add_argument(
        "--giftcard-applied",
        metavar="PAYMENT_ID",
        help="the giftcard payment, top-up or correction is on the card: done (the POS's "
        "repeat and a reprint show it)",
    )
    decision.add_argument(
        "--giftcard-not-applied",
        metavar="PAYMENT_ID",
        help="it is not on the card: the POS may send the same payment id again, and it is "
        "sent for real then",
    )
    review.add_argument(
        "--balance",
        type=_cents,
        metavar="EUROS",
        help="with --giftcard-applied: the card's balance right after that transaction, as "
        "the dashboard shows it (for the receipt and the POS's answer)",
    )
    review.set_defaults(handler=_review)
    for name, help_text in (
        ("export", "move the undelivered operations to FILE, for a replacement till"),
        ("import", "take over the operations exported from the till this one replaces"),
    ):
        transfer = commands.add_parser(name, help=help_text)
        transfer.add_argument("file", type=Path, metavar="FILE")
        transfer.set_defaults(handler=_transfer, agent_stopped=False)
        if name == "export":
            transfer.add_argument(
                "--agent-stopped",
                action="store_true",
                help="the agent is stopped: export what its last stop left in flight too "
                "(as unknown, reconciled on the new till)",
            )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="register-agent",
        description="Connects this till to the Piggy / Leat loyalty platform.",
    )
    parser.add_argument("--version", action="version", version=f"register-agent {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default /etc/register-agent/config.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    config_check = commands.add_parser(
        "config-check", help="read the configuration and say whether it is valid"
    )
    config_check.set_defaults(handler=_config_check)

    print_test = commands.add_parser(
        "print-test",
        help="print a test receipt on the configured printer and report its status",
    )
    print_test.add_argument(
        "--preview", type=Path, metavar="FILE.png", help="write the receipt as a PNG instead"
    )
    print_test.add_argument(
        "--status-ticket",
        action="store_true",
        help="print the till's status (till, shop, API, devices, outbox, version) instead",
    )
    print_test.set_defaults(handler=_print_test)
    scan_test.add_commands(commands)
    _add_sandbox(commands)
    _add_run(commands)
    demo.add_command(commands)
    status.add_command(commands)
    _add_operations_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from register_agent.common.logs import configure  # noqa: PLC0415 (lazy: start-up cost)

    # until a command has read its config: text, or JSON lines under journald
    configure("auto", logging.DEBUG if args.verbose else logging.INFO)
    handler: Command = args.handler
    try:
        return handler(args)
    except RegisterAgentError as exc:
        print(f"register-agent: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
