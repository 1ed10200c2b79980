"""Receipt build time, and print time to the TCP printer against its physical floor: on a
raw socket to the same (virtual) printer, one status query and its answer, then the same
bytes (what any driver that checks the paper before a slip must do), measured in the same
run. The driver's own path (the status asked on the slip's connection, the check after the
slip) and the whole async call the printer worker makes (render, a worker thread, the
send) are each put against that floor."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from decimal import Decimal
from pathlib import Path

from bench.measure import Figure, Goal, median, time_async_calls, time_calls
from drivers.escpos_printer import EscposPrinter, prepare_escpos
from drivers.escpos_render import render
from drivers.virtual_printer import VirtualPrinter
from register_agent.config import NetworkPrinterConfig, ReceiptConfig
from register_agent.receipts.layout import Receipt, ReceiptLayout, SaleLine, layout_receipt

ROUNDS = 200
QR_URL = (
    "https://loyalty.piggy.eu/l?version=v3&shop_uuid=b7d4e1a0-2c3f-4d5e-8f90-1a2b3c4d5e6f"
    "&unique_id=T001-4711&timestamp=1795682730&unit_name=purchase_amount&unit_value=12.5"
    "&hash=881000db17c73d232ac11c6d0bbd4b92b89d0a30"
)


def _receipt() -> Receipt:
    return Receipt(
        sale_id="4711",
        lines=(SaleLine("Croissant", Decimal("2.50")), SaleLine("Café crème", Decimal("3.50"))),
        total=Decimal("12.50"),
        qr_url=QR_URL,
    )


def _plain_escpos(lines: list[str]) -> bytes:
    """The baseline: python-escpos itself printing the same text and QR, nothing of ours."""
    from escpos.printer import Dummy  # noqa: PLC0415 (after prepare_escpos)

    printer = Dummy(profile="TM-T20II")
    for line in lines:
        printer.text(line + "\n")
    printer.qr(QR_URL, native=True, size=8)
    printer.cut()
    return bytes(printer.output)


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as cache:
        prepare_escpos(Path(cache))
        settings = ReceiptConfig(header=("Bakkerij Centrum",))
        config = NetworkPrinterConfig(kind="network", host="127.0.0.1", port=9)
        layout = layout_receipt(_receipt(), settings, config.line_width)
        ours = time_calls(lambda: render(layout_receipt(_receipt(), settings, 42), config), ROUNDS)
        text = layout.plain_text().splitlines()
        plain = time_calls(lambda: _plain_escpos(text), ROUNDS)
        figures = [
            Figure(
                "receipt build (layout + ESC/POS bytes)",
                median(ours) * 1000,
                median(plain) * 1000,
                "ms",
                "python-escpos alone, same text and QR",
            )
        ]
        figures += _print_figure(render(layout, config), layout, Path(cache))
    return figures


def _print_figure(data: bytes, layout: ReceiptLayout, cache: Path) -> list[Figure]:
    with VirtualPrinter() as device:
        host, port = device.address
        config = NetworkPrinterConfig(kind="network", host=host, port=port, timeout_s=2)
        printer = EscposPrinter(config, cache_dir=cache)

        def floor() -> None:
            with socket.create_connection((host, port), timeout=2) as connection:
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connection.sendall(b"\x10\x04\x01")  # DLE EOT 1: one status round trip
                if not connection.recv(1):
                    raise RuntimeError("the virtual printer did not answer its status")
                connection.sendall(data)

        async def worker_calls(count: int) -> list[float]:
            # the worker's call, in a loop that stays up (as the agent's does)
            return await time_async_calls(lambda _: printer.print(layout), count)

        rounds = 100
        baseline = time_calls(floor, rounds)
        driver = time_calls(lambda: printer.send_job(data), rounds)
        whole = asyncio.run(worker_calls(rounds))
        rendering = time_calls(lambda: render(layout, config), rounds)
    name = "one status round trip + the same bytes over a raw socket"
    return [
        Figure(
            "print to the TCP printer: status + slip on one connection (bytes rendered)",
            median(driver) * 1000,
            median(baseline) * 1000,
            "ms",
            name,
            Goal("at most", 1.5),
        ),
        Figure(
            "print a receipt as the worker does (render, thread, status + slip)",
            median(whole) * 1000,
            (median(baseline) + median(rendering)) * 1000,
            "ms",
            "the same floor + rendering the slip",
        ),
    ]
