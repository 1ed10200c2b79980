"""The ``register-agent`` command: one sub-command per job an installer or developer runs.

Here are the options every sub-command shares and the parser that names them all; each
sub-command's own arguments and handler are in ``register_agent/commands/``. Each imports
what it needs only when it runs, so ``register-agent --help`` and the light commands start
fast on a Raspberry Pi.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, cast

from register_agent import __version__
from register_agent.commands import (
    journal_command,
    operator_commands,
    passthrough,
    passthrough_learn,
    products,
    run_agent,
    scan_test,
    setup_checks,
    status,
)
from register_agent.commands.demo import run as demo
from register_agent.errors import JournalNeedsDecision, RegisterAgentError

Command = Callable[[argparse.Namespace], int]

#: a mistake in the command line (sysexits.h EX_USAGE): apart from every answer a command
#: gives, so a monitoring check that runs `status` cannot read its own typo as "agent down"
#: (argparse's own 2 is status's "not running")
EX_USAGE = 64
#: the config file's path when no --config is given (a fleet's scripts, a test, a container)
CONFIG_VARIABLE = "REGISTER_AGENT_CONFIG"


class _Parser(argparse.ArgumentParser):
    """argparse with EX_USAGE for a command-line mistake (its sub-parsers are this class)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="register-agent",
        description="Connects this till to the Piggy / Leat loyalty platform.",
    )
    parser.add_argument("--version", action="version", version=f"register-agent {__version__}")
    _add_shared_options(parser, default=None)
    # the sub-parsers are _Parser too (argparse makes them of the parser's class)
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
    )
    setup_checks.add_commands(commands)
    scan_test.add_commands(commands)
    run_agent.add_commands(commands)
    demo.add_command(commands)
    status.add_command(commands)
    operator_commands.add_commands(commands)
    journal_command.add_command(commands)
    passthrough.add_commands(commands)
    passthrough_learn.add_command(commands)
    products.add_command(commands)
    # `register-agent doctor --config x` as well as `register-agent --config x doctor`: an
    # installer types the option where it comes to mind. SUPPRESS leaves the value given
    # before the sub-command (or the default) alone when none is given after it.
    for command in commands.choices.values():
        _add_shared_options(command, default=argparse.SUPPRESS)
    return parser


def _add_shared_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        help=f"config file (default ${CONFIG_VARIABLE}, else /etc/register-agent/config.toml)",
    )
    verbose_default = False if default is None else default
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=verbose_default, help="log debug detail"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.config is None and os.environ.get(CONFIG_VARIABLE):
        args.config = Path(os.environ[CONFIG_VARIABLE])
        if not args.config.is_file():  # the command's own message names only --config
            print(
                f"register-agent: ${CONFIG_VARIABLE} names {args.config}, which is not a file; "
                f"point it at the config file or unset it",
                file=sys.stderr,
            )
    from register_agent.common.logs import configure  # noqa: PLC0415 (lazy: start-up cost)

    # until a command has read its config: text, or the journal's fields under systemd
    configure("auto", logging.DEBUG if args.verbose else logging.INFO)
    handler: Command = args.handler
    try:
        return handler(args)
    except JournalNeedsDecision as exc:  # systemd does not restart this exit status
        print(f"register-agent: {exc}", file=sys.stderr)
        return JournalNeedsDecision.EXIT_CODE
    except RegisterAgentError as exc:
        print(f"register-agent: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
