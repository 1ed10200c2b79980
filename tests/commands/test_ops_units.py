"""review, export/import and metrics, one module at a time, on real journal files."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from register_agent.commands.doctor.diagnosis import diagnose
from register_agent.commands.review import resolve
from register_agent.commands.transfer import export_operations, import_operations
from register_agent.config import load_config
from register_agent.errors import JournalError
from register_agent.journal import Journal, NewOperation, OperationState, RefundRecord, SaleRecord
from register_agent.readers.reader import DeviceStatus
from register_agent.readers.scans import Reason, Rejection, Repeat, Scan
from register_agent.receipts.printer import PrinterState, PrinterStatus
from register_agent.runtime.metrics import AgentMetrics, Sources
from tests.support.stored import as_payload

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def till_with_sale(state: Path, sale_id: str = "S1", digest: str = "d1") -> Journal:
    journal = Journal.open(state / "journal.sqlite3")
    sale = SaleRecord(sale_id, digest, 1250, "EUR", "card:A1B2C3D4", {}, "paid", 1.0e9)
    operation = NewOperation(
        f"op-{sale_id}",
        "credit_reception",
        "card:A1B2C3D4",
        as_payload(
            "credit_reception",
            {"sale_id": sale_id, "amount": "12.50", "card": "A1B2C3D4", "customer": None},
        ),
    )
    asyncio.run(journal.record_sale(sale, [operation], print_receipt=False))
    return journal


def test_a_decision_on_an_operation_not_in_review_is_refused(tmp_path: Path) -> None:
    till_with_sale(tmp_path).close()
    with pytest.raises(JournalError, match="not waiting for review"):
        resolve(tmp_path, "op-S1", "applied", by="tester")


def test_import_refuses_another_sale_under_the_same_id(tmp_path: Path) -> None:
    till_with_sale(tmp_path / "old").close()
    till_with_sale(tmp_path / "new", digest="another").close()
    export_operations(tmp_path / "old", tmp_path / "move.json", by="tester")
    with pytest.raises(JournalError, match="another sale"):
        import_operations(tmp_path / "new", tmp_path / "move.json", by="tester")
    journal = Journal.open(tmp_path / "new" / "journal.sqlite3")
    try:
        operation = asyncio.run(journal.operation("op-S1"))
    finally:
        journal.close()
    assert operation is not None
    assert operation.state is OperationState.PENDING  # its own, untouched


def test_a_refund_id_travels_with_its_sale_to_the_new_till(tmp_path: Path) -> None:
    journal = till_with_sale(tmp_path / "old")
    kept = RefundRecord("R-1", "S1", 500, {"sale_id": "S1", "action": "refund"}, 1.0e9)
    asyncio.run(journal.record_refund("S1", [], kept, closes_sale=False, now=1.0e9))
    journal.close()
    export_operations(tmp_path / "old", tmp_path / "move.json", by="tester")
    (tmp_path / "new").mkdir()
    Journal.open(tmp_path / "new" / "journal.sqlite3").close()  # the new till's first start
    import_operations(tmp_path / "new", tmp_path / "move.json", by="tester")
    journal = Journal.open(tmp_path / "new" / "journal.sqlite3")
    try:
        # the POS's resend of R-1 on the new till is answered, not taken again
        assert asyncio.run(journal.refund("R-1")) == kept
    finally:
        journal.close()


def test_metrics_count_scans_and_reader_changes_without_values(tmp_path: Path) -> None:
    till_with_sale(tmp_path).close()
    readers = [DeviceStatus("counter", "ok")]
    metrics = AgentMetrics(
        Sources(
            journal_file=tmp_path / "journal.sqlite3",
            api_state=lambda: "unreachable",
            printer=lambda: PrinterStatus(PrinterState.PAPER_OUT),
            readers=lambda: readers,
            started_at=0.0,
        )
    )
    metrics.scanned("counter", Scan("A1B2C3D4", "counter", NOW, "loyalty"))
    metrics.scanned("counter", Scan("8712345678906", "counter", NOW, "plain"))
    metrics.scanned("counter", Rejection(Reason.TOO_SHORT, "counter", NOW, "ab"))
    metrics.scanned("counter", Repeat("A1B2C3D4", "counter", NOW))
    metrics.state.sample_readers()
    readers[0] = DeviceStatus("counter", "down")
    metrics.state.sample_readers()
    readers[0] = DeviceStatus("counter", "ok")

    text = generate_latest(metrics.registry).decode()

    for series in (
        'register_agent_scans_total{outcome="accepted",reader="counter"} 1.0',
        'register_agent_scans_total{outcome="passed_on",reader="counter"} 1.0',
        'register_agent_scans_total{outcome="rejected",reader="counter"} 1.0',
        'register_agent_reader_changes_total{change="disconnect",reader="counter"} 1.0',
        'register_agent_reader_changes_total{change="connect",reader="counter"} 1.0',
        'register_agent_reader_up{reader="counter"} 1.0',
        'register_agent_operations{state="pending"} 1.0',
        "register_agent_outbox_depth 1.0",
        'register_agent_printer_state{state="paper out"} 1.0',
        'register_agent_api_state{state="unreachable"} 1.0',
        "register_agent_sales_total 1.0",
    ):
        assert series in text, series
    assert "A1B2C3D4" not in text
    assert "8712345678906" not in text


def test_metrics_say_a_full_disk_and_a_failing_worker(tmp_path: Path) -> None:
    till_with_sale(tmp_path).close()
    metrics = AgentMetrics(
        Sources(
            journal_file=tmp_path / "journal.sqlite3",
            api_state=lambda: "reachable",
            printer=lambda: None,
            readers=list,
            started_at=0.0,
            journal_state=lambda: "disk_full",
            worker_faults=lambda: {"housekeeping": "[Errno 28] No space left on device"},
        )
    )
    text = generate_latest(metrics.registry).decode()
    for series in (
        'register_agent_journal_state{state="disk_full"} 1.0',
        'register_agent_journal_state{state="ok"} 0.0',
        'register_agent_worker_failing{worker="housekeeping"} 1.0',
    ):
        assert series in text, series


def states_of(state: Path) -> dict[str, str]:
    journal = Journal.open(state / "journal.sqlite3")
    try:
        operation = asyncio.run(journal.operation("op-S1"))
    finally:
        journal.close()
    assert operation is not None
    return {operation.id: str(operation.state)}


def test_operations_come_back_only_from_the_till_they_went_to(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    till_with_sale(old).close()
    Journal.open(new / "journal.sqlite3").close()
    export_operations(old, tmp_path / "first.json", by="tester")
    assert import_operations(new, tmp_path / "first.json", by="tester").operations == 1
    export_operations(new, tmp_path / "back.json", by="tester")  # the old till is repaired

    # the old till's own file brings nothing back: the new till may have sent it meanwhile
    assert import_operations(old, tmp_path / "first.json", by="tester").operations == 0
    assert states_of(old) == {"op-S1": "exported"}
    assert import_operations(old, tmp_path / "back.json", by="tester").operations == 1
    assert states_of(old) == {"op-S1": "pending"}
    # and the new till, which passed it on, never takes it back from the older file
    assert import_operations(new, tmp_path / "first.json", by="tester").operations == 0
    assert states_of(new) == {"op-S1": "exported"}


def test_export_of_a_stopped_agent_takes_what_was_in_flight_as_unknown(tmp_path: Path) -> None:
    journal = till_with_sale(tmp_path)
    asyncio.run(journal.move("op-S1", OperationState.PENDING, OperationState.IN_FLIGHT, now=1.0e9))
    journal.close()
    left = export_operations(tmp_path, tmp_path / "running.json", by="tester")
    assert (left.operations, left.left_in_flight) == (0, 1)
    assert not (tmp_path / "running.json").exists()

    done = export_operations(tmp_path, tmp_path / "stopped.json", by="tester", agent_stopped=True)
    assert done.operations == 1
    exported = json.loads((tmp_path / "stopped.json").read_text())["operations"]
    assert [(op["id"], op["state"]) for op in exported] == [("op-S1", "unknown")]


def test_doctor_sends_operations_in_review_to_register_agent_review(tmp_path: Path) -> None:
    journal = till_with_sale(tmp_path)
    for expected, target in (
        (OperationState.PENDING, OperationState.IN_FLIGHT),
        (OperationState.IN_FLIGHT, OperationState.UNKNOWN),
        (OperationState.UNKNOWN, OperationState.REVIEW),
    ):
        asyncio.run(journal.move("op-S1", expected, target, now=1.0e9))
    journal.close()
    path = tmp_path / "config.toml"
    path.write_text(f'[state]\ndirectory = "{tmp_path}"\n', encoding="utf-8")

    checks = {check.name: check for check in diagnose(lambda: load_config(path))}

    assert checks["outbox"].verdict == "FAIL"
    assert "1 in review" in checks["outbox"].detail
    assert "register-agent review" in checks["outbox"].fix
    assert checks["journal"].verdict == "PASS"
    assert checks["API key"].verdict == "FAIL"  # none in this config
