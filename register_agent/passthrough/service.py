"""The pass-through put together for the running agent (``runtime/agent.py``): the judge
with the till's desk, the relay on its threads, and the checks that refuse a setting it
cannot work with before the till's first receipt finds out.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from register_agent.config import AgentConfig
from register_agent.errors import ConfigError
from register_agent.passthrough.block import Render
from register_agent.passthrough.desk import PassthroughDesk
from register_agent.passthrough.figures import PassthroughCounters
from register_agent.passthrough.judge import Judge
from register_agent.passthrough.printer_link import PrinterTarget
from register_agent.passthrough.relay import Relay, RelaySettings
from register_agent.passthrough.serial_till import SerialPort
from register_agent.receipts.layout import ReceiptLayout, TextLine
from register_agent.till.sale import Till

#: the relay's bound on the block beyond the till's own wait for the credits: the journal's
#: commit and the rendering, with room for a busy till
BLOCK_MARGIN_S = 1.0


def start_relay(
    config: AgentConfig,
    till: Till,
    counters: PassthroughCounters,
    *,
    printer: PrinterTarget | None,
    printer_lock: threading.Lock,
    render: Render,
    stages_online: bool,
    open_serial: Callable[[], SerialPort] | None = None,
) -> Relay:
    """Start listening for the till (its network port, and its serial line when
    ``open_serial`` opens one); ConfigError when the printer cannot be relayed to."""
    passthrough = config.passthrough
    if config.printer is None or printer is None:
        raise ConfigError(
            "passthrough: the relay needs a network or serial printer: set [printer] kind = "
            '"network" with the printer\'s host (and port, 9100 on most printers), or kind = '
            '"serial" with its port'
        )
    desk = PassthroughDesk(
        till,
        currency=config.receipt.currency,
        language=config.receipt.language,
        stages_online=stages_online,
    )
    desk.start(asyncio.get_running_loop())
    judge = Judge(
        passthrough=passthrough,
        desk=desk,
        loop=asyncio.get_running_loop(),
        receipt=config.receipt,
        width=config.printer.line_width,
        render=render,
        wait_s=config.till.receipt_wait_s + BLOCK_MARGIN_S,
    )
    settings = RelaySettings(
        listen=(passthrough.listen_host, passthrough.listen_port),
        printer=printer,
        connect_timeout_s=getattr(config.printer, "timeout_s", 2.0),
        cut_dialect=passthrough.cut_dialect,
    )
    relay = Relay(settings, judge, counters, printer_lock)
    relay.start()
    if open_serial is not None:  # the till's serial cable, beside the network port
        relay.serve_serial(open_serial, passthrough.serial_idle_gap_s)
    # the driver's first render imports python-escpos and its printer profiles: done now,
    # beside the start, rather than in the first customer's receipt
    warm = ReceiptLayout(config.printer.line_width, (TextLine("-"),))
    threading.Thread(target=render, args=(warm,), name="passthrough-warm", daemon=True).start()
    return relay
