"""The embedded default of ``register-agent run --sandbox``: the built-in sandbox Register
API in this process, a virtual card reader and a virtual printer, so a new user sees the
whole flow on a laptop with one command. It is loud about it: a real till must never credit
customers in a simulator, so without ``--sandbox`` and without an API key the agent refuses
to start.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from register_agent.config import (
    AgentConfig,
    NewsletterConfig,
    PrinterConfig,
    StateConfig,
    VirtualPrinterConfig,
    VirtualReaderConfig,
)
from register_agent.errors import ConfigError
from register_agent.sandbox import SandboxHandle, load_seed, start_sandbox
from register_agent.sandbox.seed import Seed

BANNER = """\
==========================================================================================
 SANDBOX MODE: the built-in sandbox Register API, a virtual reader and a virtual printer.
 Nothing here reaches Piggy / Leat; no real customer is credited.
=========================================================================================="""


@dataclass
class RunFolder:
    """The per-user state directory of ``run --sandbox`` without ``--state-dir``, held by
    this process (an exclusive lock on ``.lock`` inside) and removed when it ends."""

    path: Path
    lock: int  # the descriptor holding the lock

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self.lock)


@dataclass
class Embedded:
    """The sandbox this process runs, and the config that points the agent at it."""

    sandbox: SandboxHandle
    config: AgentConfig
    folder: RunFolder | None = None

    def close(self) -> None:
        self.sandbox.stop()
        if self.folder is not None:
            self.folder.remove()


def sandbox_state_dir() -> Path:
    """Where ``run --sandbox`` keeps its journal and token: one fixed path per user, so the
    README's ``cat "${TMPDIR:-/tmp}/register-agent-sandbox-$(id -u)/local-api-token"``
    names this run's token however often it ran before (a new temp directory per run left
    one behind each time, and a ``*`` matched them all)."""
    # a fixed name in a shared /tmp is safe here: claim_run_folder takes only a private
    # directory of this user and opens nothing in it that follows a symlink
    base = Path(os.environ.get("TMPDIR") or "/tmp")  # noqa: S108
    return base / f"register-agent-sandbox-{os.getuid()}"


def claim_run_folder(path: Path) -> RunFolder:
    """Take ``path`` for this run, emptied; refuse one another run holds or another user owns.

    Emptied because the sandbox starts from its seed on every run: the last run's journal
    would send operations this sandbox never saw, and the README's sale "1" would be that
    run's sale again. The lock says a second ``run --sandbox`` at once is using it.
    """
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()  # a fixed name in a shared /tmp: it must be our own directory
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ConfigError(
            f"{path} is not a private directory of this user; remove it, or give "
            "`run --sandbox` a directory of your own with --state-dir DIR"
        )
    lock = os.open(path / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        raise ConfigError(
            f"another `register-agent run --sandbox` is using {path}; stop it (Ctrl-C in "
            "its terminal), or give this one --state-dir DIR, --sandbox-port and --listen"
        ) from None
    for entry in path.iterdir():
        if entry.name == ".lock":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return RunFolder(path, lock)


#: what the sandbox's giftcards look like (default_seed.toml, and the cards it makes)
SANDBOX_GIFTCARDS = "GC[0-9A-F]{8}"


def require_api_key(config: AgentConfig) -> None:
    """A real till needs its API key; say how to get one, or how to try the sandbox."""
    if config.api.api_key is None:
        raise ConfigError(
            "no API key: store the register's API key (Business Dashboard > Apps > "
            "Integrations > Cash registers) as the systemd credential api-key; to try the "
            "agent without one, run `register-agent run --sandbox`"
        )


def embed(
    config: AgentConfig,
    *,
    version: Literal["v1", "v3", "orders"],
    sandbox_port: int,
    state_dir: Path | None,
) -> Embedded:
    """Start the sandbox and point a copy of ``config`` at it, with virtual devices."""
    seed = load_seed()
    keyed = "v1" if version == "v1" else "v3"  # the orders backend's register key is v3's
    register = next(
        (r for r in seed.registers if r.api_key == f"sandbox-{keyed}-key"), seed.registers[0]
    )
    folder = None if state_dir else claim_run_folder(sandbox_state_dir())
    try:
        sandbox = start_sandbox(port=sandbox_port, port_option="--sandbox-port")
    except BaseException:
        if folder is not None:
            folder.remove()
        raise
    api = config.api.model_copy(
        update={
            "version": version,
            "base_url": sandbox.url,
            "api_key": SecretStr(register.api_key),
            "loyalty_token_secret": SecretStr(seed.loyalty_token_secret),
            "loyalty_token_base_url": sandbox.url,
            "personal_access_token": (
                SecretStr(seed.personal_access_token) if version == "orders" else None
            ),
        }
    )
    directory = state_dir or sandbox_state_dir()
    embedded = config.model_copy(
        update={
            "api": api,
            "state": StateConfig(directory=directory),
            "readers": config.readers or [VirtualReaderConfig(kind="virtual", name="counter")],
            "printer": _seen_printer(config.printer, directory / "receipts"),
            "newsletter": _sandbox_newsletter(config.newsletter, seed),
            # the seeded giftcards look like this: `register-agent scan GC7F3A9B21` shows one
            "scans": config.scans.model_copy(
                update={"giftcard_patterns": config.scans.giftcard_patterns or [SANDBOX_GIFTCARDS]}
            ),
        }
    )
    return Embedded(sandbox, embedded, folder)


def _seen_printer(configured: PrinterConfig | None, folder: Path) -> PrinterConfig:
    """The config's printer, else a virtual one; a virtual printer without a folder of its
    own writes each receipt as text into ``folder``, so a newcomer sees what it printed."""
    printer = configured or VirtualPrinterConfig(kind="virtual")
    if isinstance(printer, VirtualPrinterConfig) and printer.receipts_dir is None:
        return printer.model_copy(update={"receipts_dir": folder})
    return printer


def receipts_folder(config: AgentConfig) -> Path | None:
    """Where the virtual printer writes its receipts as text (None: it does not)."""
    printer = config.printer
    return printer.receipts_dir if isinstance(printer, VirtualPrinterConfig) else None


def _sandbox_newsletter(configured: NewsletterConfig, seed: Seed) -> NewsletterConfig:
    """The config's newsletter, else the seed's first program and type: the demo's opt-in
    works without a config file."""
    if configured.marketing_program_id or configured.subscription_type:
        return configured
    programs, types = seed.marketing_programs, seed.subscription_types
    return NewsletterConfig(
        marketing_program_id=programs[0].id if programs else None,
        subscription_type=types[0].uuid if types else None,
    )
