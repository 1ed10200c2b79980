"""``register-agent run``, the agent itself (``--sandbox``: the embedded default of the
README, with the built-in sandbox and virtual devices), and ``register-agent sandbox``, the
sandbox Register API alone.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the config is imported when a command runs: `--help` stays fast
    from register_agent.config import AgentConfig


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _add_sandbox(commands)
    _add_run(commands)


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
    run.add_argument(
        "--api-version", choices=["v1", "v3", "orders"], default="v3", help="with --sandbox"
    )
    run.add_argument("--sandbox-port", type=int, default=8720, help="with --sandbox (0 = free)")
    run.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="with --sandbox (default: $TMPDIR or /tmp/register-agent-sandbox-UID, emptied "
        "at start and removed at exit)",
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
    from register_agent.runtime.cpu import keep_to_cpu  # noqa: PLC0415
    from register_agent.runtime.embedded import BANNER, embed, require_api_key  # noqa: PLC0415

    config = _listening(load_config(args.config), args.listen)
    _configure_logs(config, verbose=args.verbose)
    keep_to_cpu(config.process.cpu)  # before any thread starts: they inherit it
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


def own_command() -> str:
    """This command as another terminal can type it: ``register-agent`` when that name on
    the PATH is this very program (a till's install, an activated environment), else its
    full path. `make run` starts ``.venv/bin/register-agent`` and puts nothing on the PATH,
    so a bare name printed for it would not be found."""
    import shutil  # noqa: PLC0415
    import sys  # noqa: PLC0415

    script = Path(sys.executable).parent / "register-agent"
    if not script.is_file():  # an interpreter without the console script: run the package
        return f"{sys.executable} -m register_agent"
    on_path = shutil.which("register-agent")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "register-agent"
    return str(script.absolute())


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

    from register_agent.runtime.embedded import receipts_folder  # noqa: PLC0415

    async def announce() -> None:
        while not hasattr(agent, "api_address"):
            await asyncio.sleep(0.05)
        config = agent.config
        token_file = config.state.directory / "local-api-token"
        command = own_command()
        print(
            f" sandbox Register API: {sandbox_url}  (ledger: {sandbox_url}/_sandbox/ledger)\n"
            f" local API for the POS: http://{agent.api_address}  (docs: /docs)\n"
            f" local API token:      in {token_file}\n"
            f" counter page:         http://{agent.api_address}/counter  (log in with the token)\n"
            f" journal:              {config.state.directory / 'journal.sqlite3'}\n"
            f" receipts, as text:    {receipts_folder(config) or 'on the configured printer'}\n"
            f" till status:          {command} status --state-dir {config.state.directory}"
            f" --listen {agent.api_address}\n"
            " try it:\n"
            f"   {command} scan A1B2C3D4        # Jan's loyalty card on the virtual reader\n"
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
