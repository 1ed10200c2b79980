"""``register-agent config-check`` and ``print-test``: what an installer runs to see the
configuration read and the printer print a test receipt or the till's status slip (or draw
it as a PNG with ``--preview``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from register_agent.errors import ConfigError


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def config_file_of(given: Path | None) -> Path:
    """The file the config is read from: ``--config``, else the default path."""
    from register_agent.config import DEFAULT_CONFIG_PATH  # noqa: PLC0415 (lazy: start-up cost)

    return given or DEFAULT_CONFIG_PATH


def missing_config_file(path: Path) -> tuple[str, str] | None:
    """What is wrong and the fix when ``path`` is not there, else None.

    ``load_config`` accepts an absent default file (``run --sandbox``, ``demo`` and
    ``status`` need none); an installer checking a till must hear that it reads nothing.
    """
    if path.is_file():
        return None
    return (
        f"{path} does not exist, so only the built-in defaults and REGISTER_AGENT_* "
        "variables apply (no reader, no printer)",
        f"copy config/register-agent.example.toml to {path} and fill it in, or name "
        "another file with --config PATH",
    )


def _config_check(args: argparse.Namespace) -> int:
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)

    path = config_file_of(args.config)
    # a --config file that is not there is load_config's to refuse, with its own words
    if args.config is None and (missing := missing_config_file(path)):
        problem, fix = missing
        raise ConfigError(f"no config file: {problem}; {fix}")
    config = load_config(args.config)
    key = "set" if config.api.api_key else "not set"
    print(
        f"config ok ({path}): Register API {config.api.version} at {config.api.base_url}, "
        f"API key {key}"
    )
    return 0


def _print_test(args: argparse.Namespace) -> int:
    """Print (or preview) the test receipt; 0 when it printed, 1 when the printer refused."""
    import asyncio  # noqa: PLC0415 (lazy: start-up cost)

    from register_agent.config import load_config  # noqa: PLC0415
    from register_agent.receipts.layout import layout_receipt  # noqa: PLC0415
    from register_agent.receipts.status_ticket import print_test_receipt  # noqa: PLC0415
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
    if config.passthrough.enabled:  # before the version line, the ticket's last
        from register_agent.passthrough.figures import figures_line, saved_figures  # noqa: PLC0415

        figures = saved_figures(config.state.directory)
        lines.insert(-1, f"Pass-through: {figures_line(figures) if figures else 'no job yet'}")
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
