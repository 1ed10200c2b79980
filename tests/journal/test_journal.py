"""The journal on a real SQLite file: durability, exactly-once moves, order, print jobs."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from register_agent.errors import JournalError, JournalUnavailable
from register_agent.journal import (
    Journal,
    NewOperation,
    OperationState,
    PrintJobState,
    SaleRecord,
)
from register_agent.journal.payloads import CreditReceptionPayload, StoredCustomer
from register_agent.journal.results import CreditReceptionResult
from register_agent.journal.schema import MIGRATIONS
from register_agent.journal.writer import open_connection
from tests.support.stored import stored as stored_json

NOW = 1_800_000_000.0


def sale(sale_id: str = "4711", *, customer: str | None = "card:A1B2C3D4") -> SaleRecord:
    return SaleRecord(
        sale_id=sale_id,
        request_digest=f"digest-{sale_id}",
        amount_cents=1250,
        currency="EUR",
        customer_key=customer,
        answer={"loyalty": {"lines": ["points will be added"]}},
        state="paid",
        created_at=NOW,
    )


def credit(op_id: str, customer: str | None = "card:A1B2C3D4") -> NewOperation:
    payload = CreditReceptionPayload(sale_id="4711", amount="12.50", card="A1B2C3D4")
    return NewOperation(id=op_id, kind="credit_reception", customer_key=customer, payload=payload)


pytestmark = pytest.mark.anyio


async def test_the_file_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.sqlite3"
    Journal.open(path).close()
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    connection = open_connection(path)
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2
    connection.close()


async def test_a_journal_that_cannot_do_wal_is_refused() -> None:
    with pytest.raises(JournalError, match="refused WAL mode"):
        open_connection(Path(":memory:"))


async def test_an_unwritable_state_directory_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(JournalError, match="writable by the service user"):
        Journal.open(blocker / "journal.sqlite3")


async def test_a_sale_its_operation_and_print_job_are_written_together(
    journal: Journal,
) -> None:
    stored, created = await journal.record_sale(sale(), [credit("op-1")], print_receipt=True)
    assert created
    assert stored.sale_id == "4711"
    operations = await journal.operations_of_sale("4711")
    assert [(op.id, op.state, op.attempts) for op in operations] == [
        ("op-1", OperationState.PENDING, 0)
    ]
    jobs = await journal.print_jobs_due(NOW, freshness_s=600)
    assert [(job.sale_id, job.copy) for job in jobs] == [("4711", 0)]


async def test_the_same_sale_twice_creates_nothing_new(journal: Journal) -> None:
    await journal.record_sale(sale(), [credit("op-1")], print_receipt=True)
    again, created = await journal.record_sale(sale(), [credit("op-2")], print_receipt=True)
    assert not created
    assert again.request_digest == "digest-4711"
    assert [op.id for op in await journal.operations_of_sale("4711")] == ["op-1"]
    assert len(await journal.print_jobs_due(NOW, freshness_s=600)) == 1


async def test_a_failing_transaction_leaves_nothing_behind(journal: Journal) -> None:
    await journal.record_sale(sale("1"), [credit("op-1")], print_receipt=False)
    with pytest.raises(JournalError, match="refused"):
        # the operation id is taken: the whole sale, not just the operation, is refused
        await journal.record_sale(sale("2"), [credit("op-1")], print_receipt=True)
    assert await journal.sale("2") is None
    assert await journal.print_jobs_due(NOW, freshness_s=600) == []


async def test_moves_follow_the_state_table(journal: Journal) -> None:
    await journal.record_sale(sale(), [credit("op-1")], print_receipt=False)
    sent = await journal.move("op-1", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW)
    assert (sent.state, sent.attempts) == (OperationState.IN_FLIGHT, 1)
    with pytest.raises(JournalError, match="not allowed"):
        await journal.move("op-1", OperationState.IN_FLIGHT, OperationState.REVIEW, now=NOW)
    with pytest.raises(JournalError, match="is not pending any more"):
        await journal.move("op-1", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW)
    credited = CreditReceptionResult(
        reception_id="a6c1f0d2", credits=12, balance=None, customer=StoredCustomer(key="c-1")
    )
    done = await journal.move(
        "op-1",
        OperationState.IN_FLIGHT,
        OperationState.DONE,
        now=NOW + 1,
        server_ref="a6c1f0d2",
        result=credited,
    )
    assert (done.state, done.server_ref, done.result) == (
        OperationState.DONE,
        "a6c1f0d2",
        credited,
    )
    with pytest.raises(JournalError, match="not allowed"):
        await journal.move("op-1", OperationState.DONE, OperationState.PENDING, now=NOW)


async def test_in_flight_operations_become_unknown_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    first = Journal.open(path)
    await first.record_sale(sale(), [credit("op-1"), credit("op-2")], print_receipt=False)
    await first.move("op-1", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW)
    first.close()
    second = Journal.open(path)
    assert await second.recover_after_restart(NOW + 5) == 1
    states = {op.id: op.state for op in await second.operations_of_sale("4711")}
    assert states == {"op-1": OperationState.UNKNOWN, "op-2": OperationState.PENDING}
    second.close()


async def test_one_customer_in_order_customers_do_not_wait_for_each_other(
    journal: Journal,
) -> None:
    await journal.record_sale(sale("1"), [credit("a1", "card:A")], print_receipt=False)
    await journal.record_sale(sale("2"), [credit("a2", "card:A")], print_receipt=False)
    await journal.record_sale(sale("3"), [credit("b1", "card:B")], print_receipt=False)
    await journal.record_sale(sale("4"), [credit("s1", None)], print_receipt=False)
    await journal.record_sale(sale("5"), [credit("s2", None)], print_receipt=False)
    due = [op.id for op in await journal.due_operations(NOW, limit=10)]
    assert due == ["a1", "b1", "s1", "s2"]
    await journal.move("a1", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW)
    assert "a2" not in [op.id for op in await journal.due_operations(NOW, limit=10)]
    await journal.move("a1", OperationState.IN_FLIGHT, OperationState.DONE, now=NOW)
    assert [op.id for op in await journal.due_operations(NOW, limit=10)] == ["a2", "b1", "s1", "s2"]


async def test_the_newest_sales_go_first_and_each_customer_still_in_order(
    journal: Journal,
) -> None:
    for number in range(20):  # a backlog of 20 customers, queued during an outage
        await journal.record_sale(
            sale(f"old-{number}"), [credit(f"old-{number}", f"card:{number}")], print_receipt=False
        )
    await journal.record_sale(sale("late-3"), [credit("late-3", "card:3")], print_receipt=False)
    await journal.record_sale(sale("now"), [credit("now", "card:NEW")], print_receipt=False)
    due = [op.id for op in await journal.due_operations(NOW, limit=4)]
    # the customer at the counter first, then the newest; card 3's second sale waits for
    # its first
    assert due == ["now", "old-19", "old-18", "old-17"]
    everything = [op.id for op in await journal.due_operations(NOW, limit=30)]
    assert "late-3" not in everything
    assert sorted(everything) == sorted(["now"] + [f"old-{number}" for number in range(20)])


async def test_a_parked_operation_holds_nobody_up_and_backoff_is_respected(
    journal: Journal,
) -> None:
    await journal.record_sale(sale("1"), [credit("a1", "card:A")], print_receipt=False)
    await journal.record_sale(sale("2"), [credit("a2", "card:A")], print_receipt=False)
    await journal.move("a1", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW)
    await journal.move("a1", OperationState.IN_FLIGHT, OperationState.UNKNOWN, now=NOW)
    await journal.move("a1", OperationState.UNKNOWN, OperationState.REVIEW, now=NOW)
    await journal.move("a2", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW)
    await journal.move(
        "a2", OperationState.IN_FLIGHT, OperationState.PENDING, now=NOW, next_attempt_at=NOW + 30
    )
    assert await journal.due_operations(NOW + 29, limit=10) == []
    assert [op.id for op in await journal.due_operations(NOW + 30, limit=10)] == ["a2"]
    summary = await journal.outbox_summary(NOW + 60)
    assert (summary.pending, summary.review, summary.oldest_pending_age_s) == (1, 1, 60.0)


async def test_stale_receipts_are_held_and_reprinted_as_the_original_until_printed(
    journal: Journal,
) -> None:
    await journal.record_sale(sale("old"), [], print_receipt=True)
    fresh = sale("new")
    fresh = SaleRecord(**{**fresh.__dict__, "created_at": NOW + 900})
    await journal.record_sale(fresh, [], print_receipt=True)
    due = await journal.print_jobs_due(NOW + 1000, freshness_s=600)
    assert [job.sale_id for job in due] == ["new"]
    assert await journal.held_receipts(since=NOW - 1) == ["old"]
    # never printed: the reprint is the original, pending again and due from now
    reprint = await journal.add_reprint("old", NOW + 1000)
    assert (reprint.copy, reprint.state, reprint.created_at) == (
        0,
        PrintJobState.PENDING,
        NOW + 1000,
    )
    assert await journal.held_receipts(since=NOW - 1) == []
    assert (await journal.add_reprint("old", NOW + 1001)).id == reprint.id  # still waiting
    await journal.print_job_done(reprint.id, NOW + 1001)
    second = await journal.add_reprint("old", NOW + 1002)
    assert second.copy == 1  # printed once: now a copy
    with pytest.raises(JournalError, match="not in the journal"):
        await journal.add_reprint("never-sold", NOW)


async def test_retention_removes_only_finished_sales(journal: Journal) -> None:
    await journal.record_sale(sale("finished"), [credit("f1")], print_receipt=False)
    await journal.move("f1", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW)
    await journal.move("f1", OperationState.IN_FLIGHT, OperationState.DONE, now=NOW)
    await journal.record_sale(sale("waiting"), [credit("w1")], print_receipt=False)
    assert await journal.purge_finished(before=NOW + 1) == 1
    assert await journal.sale("finished") is None
    assert await journal.operation("f1") is None
    assert await journal.sale("waiting") is not None
    assert await journal.integrity_check() == "ok"


def fill_the_disk(db: sqlite3.Connection) -> None:
    """A real SQLITE_FULL: the file may not grow past the pages it has."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    db.execute("CREATE TABLE ballast (b BLOB)")
    db.execute("INSERT INTO ballast VALUES (zeroblob(1000000))")


async def test_a_full_disk_refuses_the_group_and_the_next_write_goes_through(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "journal.sqlite3")
    await journal.record_sale(sale("1"), [], print_receipt=False)
    with pytest.raises(JournalUnavailable, match="disk is full") as refused:
        await journal._writer.run_async(fill_the_disk)
    assert refused.value.kind == "disk_full"
    assert journal.fault is not None
    assert journal.fault.kind == "disk_full"
    # the space is back (the connection's cap lifted): the next write commits, the fault ends
    await journal._writer.run_async(lambda db: db.execute("PRAGMA max_page_count = 1000000"))
    await journal.record_sale(sale("2"), [], print_receipt=False)
    assert journal.fault is None
    assert await journal.sale("2") is not None
    assert await journal.integrity_check() == "ok"
    journal.close()


async def test_a_damaged_page_stops_every_later_write(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "journal.sqlite3")

    def meet_a_damaged_page(db: sqlite3.Connection) -> None:
        damage = sqlite3.DatabaseError("database disk image is malformed")
        damage.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
        raise damage

    with pytest.raises(JournalUnavailable, match="journal recover") as refused:
        await journal._writer.run_async(meet_a_damaged_page)
    assert refused.value.kind == "damaged"
    with pytest.raises(JournalUnavailable, match="damaged"):
        await journal.record_sale(sale("1"), [], print_receipt=False)
    assert await journal.sale("1") is None  # reads go on
    journal.close()


async def test_a_newer_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(JournalError, match="newer than this agent knows"):
        Journal.open(path)


def test_an_acknowledged_sale_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal, sys
        from pathlib import Path
        from register_agent.journal import Journal, NewOperation, SaleRecord
        from register_agent.journal.payloads import Payload
        async def main():
            journal = Journal.open(Path({str(path)!r}))
            for number in range(20):
                record = SaleRecord(str(number), "d", 100, "EUR", None, {{}}, "paid", 1.0)
                op = NewOperation(f"op-{{number}}", "staged", None, Payload())
                await journal.record_sale(record, [op], print_receipt=True)
                print(number, flush=True)  # the POS's acknowledgement
            os.kill(os.getpid(), signal.SIGKILL)
        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == -9
    acknowledged = done.stdout.split()
    assert len(acknowledged) == 20
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in db.execute("SELECT sale_id FROM sales")}
        operations = db.execute("SELECT COUNT(*) FROM operations").fetchone()[0]
    assert stored == set(acknowledged)
    assert operations == 20


async def test_transactions_queued_together_commit_together_yet_fail_alone(
    journal: Journal,
) -> None:
    """Group commit: one refused transaction in a group takes nothing else with it."""
    # hold the writer for a moment, so that everything below queues up into one group
    blocker = journal._writer.submit(lambda db: time.sleep(0.2))
    sales = [
        journal.record_sale(sale(str(n)), [credit(f"op-{n}")], print_receipt=False)
        for n in range(20)
    ]
    clash = journal.record_sale(sale("clash"), [credit("op-3")], print_receipt=False)
    results = await asyncio.gather(*sales, clash, return_exceptions=True)
    assert all(isinstance(result, tuple) and result[1] for result in results[:20])
    assert isinstance(results[20], JournalError)
    assert await journal.sale("clash") is None
    assert all([await journal.sale(str(n)) is not None for n in range(20)])
    assert blocker.done()
    assert (await journal.outbox_summary(NOW)).pending == 20


async def test_a_finished_operation_keeps_only_the_last_four_of_its_card(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = Journal.open(path)
    record = SaleRecord(**{**sale("9").__dict__, "customer_key": "card:04A2241A6B5E80"})
    record = SaleRecord(**{**record.__dict__, "request": {"customer_card": "04A2241A6B5E80"}})
    scanned = CreditReceptionPayload(sale_id="9", amount="12.50", card="04A2241A6B5E80")
    waiting = NewOperation("op-9", "credit_reception", "card:04A2241A6B5E80", scanned)
    await journal.record_sale(record, [waiting], print_receipt=False)
    sent = await journal.move("op-9", OperationState.PENDING, OperationState.IN_FLIGHT, now=NOW)
    assert stored_json(sent.payload)["card"] == "04A2241A6B5E80"
    done = await journal.move(
        "op-9",
        OperationState.IN_FLIGHT,
        OperationState.DONE,
        now=NOW,
        result=CreditReceptionResult(
            reception_id="r-9",
            credits=12,
            balance=None,
            customer=StoredCustomer(key="c-1", card="04A2241A6B5E80"),
        ),
    )
    assert (stored_json(done.payload)["card"], done.customer_key) == ("…5E80", "card:…5E80")
    assert stored_json(done.result) == {
        "reception_id": "r-9",
        "credits": 12,
        "balance": None,
        "customer": {"key": "c-1", "card": "…5E80"},
    }
    stored = await journal.sale("9")
    assert stored is not None
    assert (stored.request["customer_card"], stored.customer_key) == ("…5E80", "card:…5E80")
    journal.close()
    on_disk = b"".join(file.read_bytes() for file in tmp_path.glob("journal.sqlite3*"))
    assert b"04A2241A6B5E80" not in on_disk
