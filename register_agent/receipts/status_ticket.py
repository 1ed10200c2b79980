"""The installer's slips: ``register-agent print-test``'s test receipt, and
``print-test --status-ticket``, saying which till and shop this is, whether the Register API
takes the key, the devices, the outbox and the agent's version. No secrets, no card values.
"""

from __future__ import annotations

import json
import socket
import textwrap
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from register_agent import __version__
from register_agent.config import AgentConfig, ReaderConfig, ReceiptConfig
from register_agent.errors import JournalError
from register_agent.journal.admin import journal_path, read_only
from register_agent.journal.queries import outbox_summary
from register_agent.loyalty.checks import probe_api
from register_agent.receipts.layout import (
    Cut,
    Element,
    Receipt,
    ReceiptLayout,
    Rule,
    SaleLine,
    TextLine,
    clean,
    text,
)

REGISTER_FILE = "register.json"  # runtime/housekeeping.py's cache of the register info


async def status_lines(config: AgentConfig) -> list[str]:
    """What the ticket says, line by line (also printed on the terminal)."""
    till, shop = _cached_names(config.state.directory)
    api = "no API key set"
    if config.api.api_key is not None:
        probe = await probe_api(config.api)
        api = {"accepted": "key accepted", "refused": "KEY REFUSED"}.get(
            probe.state, "not reachable"
        )
        if probe.register is not None:
            till = f"{probe.register.name} ({probe.register.identifier})"
            shop = probe.register.shop_name
    # the time on top, where a sale's slip has it (same format; the zone named, since an
    # installer may compare tickets of tills in other zones)
    lines = [
        datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        f"Till: {till}",
        f"Shop: {shop}",
        f"Host: {socket.gethostname()}",
        f"Register API {config.api.version}: {api}",
        f"Printer: {config.printer.kind if config.printer else 'none (the POS prints)'}",
    ]
    lines += [_reader_line(reader) for reader in config.readers]
    lines += [_outbox_line(config.state.directory), f"register-agent {__version__}"]
    return [clean(line) for line in lines]


def status_layout(lines: list[str], width: int) -> ReceiptLayout:
    elements: list[Element] = [TextLine("STATUS", align="center", bold=True, large=True), Rule()]
    # long device paths (/dev/serial/by-id/...) wrap rather than lose their end
    elements += [TextLine(part) for line in lines for part in textwrap.wrap(line, width) or [""]]
    elements += [Rule(), Cut()]
    return ReceiptLayout(width, tuple(elements))


def _reader_line(reader: ReaderConfig) -> str:
    path = getattr(reader, "port", None) or getattr(reader, "device", None)
    if path is None:
        return f"Reader {reader.name}: {reader.kind}"
    found = "present" if Path(str(path)).exists() else "MISSING"
    return f"Reader {reader.name}: {reader.kind} {path} {found}"


def _cached_names(directory: Path) -> tuple[str, str]:
    """The till and shop from the agent's cached register info (for an offline till)."""
    try:
        info = json.loads((directory / REGISTER_FILE).read_text(encoding="utf-8"))
        return f"{info['name']} ({info['identifier']})", str(info["shop_name"])
    except (OSError, ValueError, KeyError, TypeError):
        return "?", "?"


def _outbox_line(directory: Path) -> str:
    try:
        with read_only(journal_path(directory)) as db:
            summary = outbox_summary(db, time.time())
    except JournalError:
        return "Outbox: no journal yet"
    waiting = summary.pending + summary.in_flight + summary.unknown
    age = summary.oldest_pending_age_s
    oldest = f", oldest {age / 60:.0f} min" if age is not None else ""
    return f"Outbox: {waiting} waiting{oldest}, {summary.review} review"


def print_test_receipt(settings: ReceiptConfig, qr_url: str) -> Receipt:
    """The slip of ``register-agent print-test``: accents, the euro sign, a QR, a barcode."""
    return Receipt(
        sale_id="TEST",
        lines=(SaleLine("Café crème", Decimal("3.50")), SaleLine("Crème brûlée", Decimal("4.25"))),
        total=Decimal("7.75"),
        notes=(text("test_title", settings.language), "Café crème € 3,50", "àáâäçèéêëïñóöüß ÀÉÖÜ"),
        qr_url=qr_url,
        barcode="REGISTER-AGENT",
        sold_at=datetime.now().astimezone(),  # its date and time, as every slip has them
    )
