"""The ``register-agent`` command: one sub-command per job an installer or developer runs.

Each sub-command imports what it needs only when it runs, so ``register-agent --help``
and the light commands start fast on a Raspberry Pi.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from register_agent import __version__
from register_agent.errors import RegisterAgentError

Command = Callable[[argparse.Namespace], int]


def _config_check(args: argparse.Namespace) -> int:
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)

    config = load_config(args.config)
    key = "set" if config.api.api_key else "not set"
    print(f"config ok: Register API {config.api.version} at {config.api.base_url}, API key {key}")
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from register_agent.sandbox import serve_forever  # noqa: PLC0415 (lazy: start-up cost)

    return serve_forever(args.host, args.port, args.seed)


def _add_sandbox(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser(
        "sandbox", help="run the sandbox Register API (v1 and v3) on this machine"
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8720, help="port (default 8720, 0 = free)")
    sandbox.add_argument("--seed", type=Path, default=None, help="seed TOML (default: built-in)")
    sandbox.set_defaults(handler=_sandbox)


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
    _add_sandbox(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Command = args.handler
    try:
        return handler(args)
    except RegisterAgentError as exc:
        print(f"register-agent: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
