"""The embedded default of ``register-agent run --sandbox``: the built-in sandbox Register
API in this process, a virtual card reader and a virtual printer, so a new user sees the
whole flow on a laptop with one command. It is loud about it: a real till must never credit
customers in a simulator, so without ``--sandbox`` and without an API key the agent refuses
to start.
"""

from __future__ import annotations

import tempfile
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
class Embedded:
    """The sandbox this process runs, and the config that points the agent at it."""

    sandbox: SandboxHandle
    config: AgentConfig

    def close(self) -> None:
        self.sandbox.stop()


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
    version: Literal["v1", "v3"],
    sandbox_port: int,
    state_dir: Path | None,
) -> Embedded:
    """Start the sandbox and point a copy of ``config`` at it, with virtual devices."""
    seed = load_seed()
    register = next(
        (r for r in seed.registers if r.api_key == f"sandbox-{version}-key"), seed.registers[0]
    )
    sandbox = start_sandbox(port=sandbox_port)
    api = config.api.model_copy(
        update={
            "version": version,
            "base_url": sandbox.url,
            "api_key": SecretStr(register.api_key),
            "loyalty_token_secret": SecretStr(seed.loyalty_token_secret),
            "loyalty_token_base_url": sandbox.url,
        }
    )
    directory = state_dir or Path(tempfile.mkdtemp(prefix="register-agent-sandbox-"))
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
    return Embedded(sandbox, embedded)


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
