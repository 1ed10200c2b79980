"""``register-agent demo``: a scripted tour of one till on the embedded default, for a new
user to watch. The agent runs in this process exactly as ``run --sandbox`` runs it (the
built-in sandbox, a virtual reader and printer); the tour (``demo/tour.py``, its counter
steps in ``demo/counter_steps.py``) plays the POS software, the cashier and the customers
against it, and checks every outcome.

The agent runs here rather than as a ``run --sandbox`` child process: every port is picked
free by the operating system and known at once (no output to parse, nothing to race for),
the receipt previews are drawn from the agent's own journal, and a failure ends one process
with one message. The tour still talks to the agent only over its local API, like a POS.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from register_agent.errors import ConfigError

if TYPE_CHECKING:  # imported when the demo runs: `register-agent --help` stays fast
    import asyncio

    from register_agent.commands.demo.guide import DemoTill
    from register_agent.config import AgentConfig
    from register_agent.receipts.layout import Receipt
    from register_agent.runtime.agent import Agent
    from register_agent.runtime.embedded import Embedded

#: the agent has this long to start (imports, sandbox, journal, local API)
START_TIMEOUT_S = 20.0
#: the whole tour has this long; every wait inside it is bounded too
TOUR_TIMEOUT_S = 90.0
DEMO_HEADER = ("Bakkerij Centrum", "Demo till (sandbox)")
#: printed on the demo's receipts unless the config names its own (Jan has both)
DEMO_ATTRIBUTES = {"firstname": "Name", "tier": "Tier"}


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="a scripted tour of a till on the built-in sandbox, checked step by step"
    )
    demo.add_argument("--api-version", choices=["v1", "v3", "orders"], default="v3")
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("demo-out"),
        help="where the receipt previews (PNG) go (default ./demo-out)",
    )
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    """0 when every step went as the tour expected; 1 (and the step that did not) otherwise."""
    import asyncio  # noqa: PLC0415 (lazy: start-up cost)
    import tempfile  # noqa: PLC0415

    from register_agent.config import load_config  # noqa: PLC0415
    from register_agent.runtime.embedded import embed  # noqa: PLC0415

    if not args.verbose:  # the tour says in plain words what the log lines would
        logging.getLogger().setLevel(logging.ERROR)
    out = args.out.resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot make the preview folder ({exc})") from exc
    # A fresh state directory every time: the journal of a previous tour would answer the
    # same sale ids with its old receipts. It is removed at the end, with the reader socket.
    with tempfile.TemporaryDirectory(prefix="register-agent-demo-") as work:
        config = demo_config(load_config(args.config), Path(work))
        state = Path(work) / "state"
        state.mkdir()
        embedded = embed(config, version=args.api_version, sandbox_port=0, state_dir=state)
        try:
            return asyncio.run(_tour(embedded, args.api_version, out))
        finally:
            embedded.close()


def demo_config(config: AgentConfig, work: Path) -> AgentConfig:
    """``config`` (for its receipt settings) on virtual devices, free ports, short backoffs."""
    import secrets  # noqa: PLC0415

    from pydantic import SecretStr  # noqa: PLC0415

    from register_agent.commands.demo.till_print import TEMPLATE  # noqa: PLC0415
    from register_agent.config import (  # noqa: PLC0415
        LocalApiConfig,
        PassthroughConfig,
        VirtualPrinterConfig,
        VirtualReaderConfig,
    )

    # The outbox's real backoff (2 s doubling to 5 min) would make the "back online" step
    # wait minutes; a till never needs these values, a tour a user watches does.
    outbox = config.outbox.model_copy(
        update={"backoff_base_s": 0.2, "backoff_max_s": 1.0, "unknown_delay_s": 0.5}
    )
    receipt = config.receipt
    if not receipt.header:
        receipt = receipt.model_copy(update={"header": DEMO_HEADER})
    if not receipt.customer_attributes:
        receipt = receipt.model_copy(update={"customer_attributes": DEMO_ATTRIBUTES})
    # the seed's newsletter: v1 marketing program 12, v3 the OPT_IN type "Nieuwsbrief"
    newsletter = config.newsletter.model_copy(
        update={"marketing_program_id": 12, "subscription_type": "Nieuwsbrief"}
    )
    return config.model_copy(
        update={
            # virtual devices even when the config names real ones: a tour must never print
            # on the shop's printer or read its scanner
            "readers": [
                VirtualReaderConfig(
                    kind="virtual", name="counter", inject_socket=work / "counter.sock"
                )
            ],
            "printer": VirtualPrinterConfig(kind="virtual"),
            "local_api": LocalApiConfig(
                listen="127.0.0.1:0", token=SecretStr(secrets.token_urlsafe(24))
            ),
            "outbox": outbox,
            "till": config.till.model_copy(update={"prints": "receipt"}),
            # step 13: an old till prints through the agent, on a port the system picks
            "passthrough": PassthroughConfig(
                enabled=True, listen=f"127.0.0.1:{_free_port()}", template=TEMPLATE
            ),
            "receipt": receipt,
            "newsletter": newsletter,
        }
    )


async def _tour(embedded: Embedded, version: str, out: Path) -> int:
    """Start the agent, run the tour in a thread (its HTTP calls block), stop the agent."""
    import asyncio  # noqa: PLC0415

    from register_agent.commands.demo.guide import DemoFailed  # noqa: PLC0415
    from register_agent.commands.demo.tour import Tour  # noqa: PLC0415
    from register_agent.runtime.agent import Agent  # noqa: PLC0415

    agent = Agent(lambda: embedded.config)
    running = asyncio.create_task(agent.run())
    try:
        await _until_ready(agent, running)
        till = _till_of(agent, embedded, asyncio.get_running_loop())
        tour = Tour(till, out, version)
        await asyncio.wait_for(asyncio.to_thread(tour.run), TOUR_TIMEOUT_S)
    except DemoFailed as exc:
        print(f"\nDEMO FAILED at {exc}", file=sys.stderr, flush=True)
        return 1
    except TimeoutError:
        print(f"\nDEMO FAILED: it took longer than {TOUR_TIMEOUT_S:.0f} s", file=sys.stderr)
        return 1
    finally:
        agent.request_stop()
        await asyncio.wait_for(running, 15.0)
    return 0


async def _until_ready(agent: Agent, running: asyncio.Task[int]) -> None:
    import asyncio  # noqa: PLC0415

    from register_agent.commands.demo.guide import DemoFailed  # noqa: PLC0415

    async def listening() -> None:
        while not hasattr(agent, "api_address"):
            if running.done():
                running.result()  # raises what stopped the agent
                raise DemoFailed("start: the agent stopped while starting")
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(listening(), START_TIMEOUT_S)
    except TimeoutError:
        raise DemoFailed(f"start: the agent was not ready within {START_TIMEOUT_S:.0f} s") from None


def _till_of(agent: Agent, embedded: Embedded, loop: asyncio.AbstractEventLoop) -> DemoTill:
    from register_agent.commands.demo.guide import DemoTill  # noqa: PLC0415
    from register_agent.commands.local_client import JsonClient  # noqa: PLC0415

    config = embedded.config
    passthrough = config.passthrough
    token = config.local_api.token
    assert token is not None  # demo_config sets one
    return DemoTill(
        pos=JsonClient(agent.api_address, token.get_secret_value()),
        sandbox=JsonClient(embedded.sandbox.url),
        scan=lambda value: _scan(config, value),
        preview=lambda sale_id, path, copy: _preview(agent, loop, sale_id, path, copy=copy),
        receipt_attributes=dict(config.receipt.customer_attributes),
        till_printer=(passthrough.listen_host, passthrough.listen_port),
        printer_jobs=lambda: _printed(agent),
    )


def _free_port() -> int:
    """A loopback port free now (the relay's listen setting names a port)."""
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _printed(agent: Agent) -> list[bytes]:
    """The bytes of every job the demo's virtual printer holds complete."""
    device = getattr(agent.printer, "device", None)
    return list(device.printed()) if device is not None else []


def _scan(config: AgentConfig, value: str) -> None:
    """The cashier scans ``value`` on the counter's (virtual) reader."""
    from register_agent.config import VirtualReaderConfig  # noqa: PLC0415
    from register_agent.runtime.devices import inject_scan  # noqa: PLC0415

    reader = config.readers[0]
    assert isinstance(reader, VirtualReaderConfig)  # demo_config puts it there
    inject_scan(reader, value.encode("utf-8") + b"\r")


def _preview(
    agent: Agent, loop: asyncio.AbstractEventLoop, sale_id: str, path: Path, *, copy: bool
) -> Receipt:
    """Draw the receipt of ``sale_id`` as the printer worker composes it, from the journal
    (its giftcard and voucher lines too).

    Called from the tour's thread: the journal is asked on the agent's event loop.
    """
    import asyncio  # noqa: PLC0415

    from register_agent.journal import PrintJob, PrintJobState  # noqa: PLC0415
    from register_agent.receipts.giftcards import with_giftcards  # noqa: PLC0415
    from register_agent.receipts.layout import layout_receipt  # noqa: PLC0415
    from register_agent.receipts.sale_receipt import compose_receipt  # noqa: PLC0415
    from register_agent.receipts.vouchers import with_vouchers  # noqa: PLC0415
    from register_agent.runtime.devices import write_receipt_preview  # noqa: PLC0415

    journal = agent.journal
    sale = asyncio.run_coroutine_threadsafe(journal.sale(sale_id), loop).result(5.0)
    if sale is None:
        raise RuntimeError(f"sale {sale_id} is not in the journal")
    operations = asyncio.run_coroutine_threadsafe(journal.operations_of_sale(sale_id), loop).result(
        5.0
    )
    job = PrintJob(
        id=0,
        sale_id=sale_id,
        copy=int(copy),
        state=PrintJobState.PRINTED,
        attempts=1,
        last_error=None,
        created_at=sale.created_at,
        printed_at=None,
    )
    config = agent.config
    receipt = compose_receipt(sale, operations, job, config.till)
    payments = asyncio.run_coroutine_threadsafe(
        journal.giftcard_payments_of_sale(sale_id), loop
    ).result(5.0)
    receipt = with_giftcards(receipt, payments, config.receipt.language, sale.currency)
    vouchers = asyncio.run_coroutine_threadsafe(journal.vouchers_of_sale(sale_id), loop)
    receipt = with_vouchers(receipt, vouchers.result(5.0), config.receipt.language)
    settings = config.receipt.model_copy(update={"currency": sale.currency})
    width = config.printer.line_width if config.printer else 42
    write_receipt_preview(layout_receipt(receipt, settings, width), path)
    return receipt
