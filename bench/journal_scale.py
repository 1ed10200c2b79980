"""Sale latency and journal size with many pending operations (seeded straight into the
journal) against an empty journal: the outbox of a till that was offline all week."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from bench.measure import Figure, Goal, median, percentile, time_async_calls
from register_agent.journal import Journal, NewOperation, SaleRecord
from register_agent.journal.payloads import Payload

SALES_MEASURED = 200


def _seed(path: Path, pending: int) -> None:
    """Fill a journal's tables directly: ``pending`` sales, each with a pending operation."""
    Journal.open(path).close()  # schema
    now = time.time()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO sales (sale_id, request_digest, amount_cents, currency, customer_key,"
            " request, answer, state, created_at) VALUES (?, 'd', 1250, 'EUR', ?, '{}', '{}',"
            " 'paid', ?)",
            ((f"seed-{n}", f"customer:{n % 500}", now) for n in range(pending)),
        )
        db.executemany(
            "INSERT INTO operations (id, sale_id, kind, customer_key, payload, state,"
            " next_attempt_at, created_at, updated_at)"
            " VALUES (?, ?, 'credit_reception', ?, '{}', 'pending', ?, ?, ?)",
            (
                (uuid.uuid4().hex, f"seed-{n}", f"customer:{n % 500}", now, now, now)
                for n in range(pending)
            ),
        )


async def _sale_latencies(path: Path) -> list[float]:
    journal = Journal.open(path)
    try:

        async def sell(number: int) -> None:
            record = SaleRecord(
                f"bench-{number}", "d", 1250, "EUR", "customer:7", {}, "paid", time.time()
            )
            operation = NewOperation(uuid.uuid4().hex, "credit_reception", "customer:7", Payload())
            await journal.record_sale(record, [operation], print_receipt=True)
            await journal.due_operations(time.time(), limit=4)  # what the outbox asks next

        return await time_async_calls(sell, SALES_MEASURED)
    finally:
        journal.close()


def run(sizes: tuple[int, ...] = (10_000, 100_000)) -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory() as directory:
        empty = Path(directory) / "empty.sqlite3"
        Journal.open(empty).close()
        baseline = asyncio.run(_sale_latencies(empty))
        for size in sizes:
            path = Path(directory) / f"seeded-{size}.sqlite3"
            _seed(path, size)
            samples = asyncio.run(_sale_latencies(path))
            figures.append(
                Figure(
                    f"sale commit + due query, p50, {size:,} pending",
                    median(samples) * 1000,
                    median(baseline) * 1000,
                    "ms",
                    "empty journal",
                    Goal("at most", 1.2),
                )
            )
            figures.append(
                Figure(
                    f"sale commit + due query, p99, {size:,} pending",
                    percentile(samples, 0.99) * 1000,
                    percentile(baseline, 0.99) * 1000,
                    "ms",
                    "empty journal",
                )
            )
            figures.append(
                Figure(
                    f"journal size, {size:,} pending",
                    path.stat().st_size / 1e6,
                    empty.stat().st_size / 1e6,
                    "MB",
                    "empty journal",
                )
            )
    return figures
