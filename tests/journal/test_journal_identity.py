"""The journal's identity on real files: a new till's journal gets one, a journal from
before the marker is adopted, a lost marker is written again, and a foreign journal, an
old backup or a damaged file are refused with the decision to take; recover keeps the
readable rows and reconciles what was unfinished, reset starts empty."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from pathlib import Path

import pytest

from register_agent.errors import JournalNeedsDecision
from register_agent.journal import Journal, OperationState, identity
from register_agent.journal.admin import write_transaction
from register_agent.journal.salvage import recover, reset
from tests.journal.test_journal import credit, sale

pytestmark = pytest.mark.anyio


def _origin(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("SELECT origin FROM journal_identity").fetchone()[0])


async def _with_a_sale(path: Path) -> None:
    journal = Journal.open(path)
    await journal.record_sale(sale(), [credit("op-1")], print_receipt=True)
    journal.close()


async def test_a_new_till_gets_an_identity_and_a_closed_marker(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    await _with_a_sale(path)
    marker = identity.read_marker(path)
    assert marker is not None
    assert marker.origin == "new"
    assert not marker.open
    assert marker.sequence >= 2  # the operation and the print job
    assert _origin(path) == "new"


async def test_a_journal_from_before_the_marker_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    await _with_a_sale(path)
    with sqlite3.connect(path) as db:  # as an agent without identities left it
        db.execute("DROP TABLE journal_identity")
        db.execute("DROP TABLE refunds")  # (migrations 5 and 6, after the identity's)
        db.execute("DROP INDEX operations_active")
        db.execute("PRAGMA user_version = 3")
    identity.marker_path(path).unlink()
    Journal.open(path).close()
    assert _origin(path) == "adopted"


async def test_a_lost_marker_is_written_again(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    await _with_a_sale(path)
    before = identity.read_marker(path)
    identity.marker_path(path).unlink()
    Journal.open(path).close()
    after = identity.read_marker(path)
    assert before is not None
    assert after is not None
    assert after.journal_id == before.journal_id


async def test_another_tills_journal_is_refused(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours" / "journal.sqlite3", tmp_path / "theirs" / "journal.sqlite3"
    await _with_a_sale(ours)
    await _with_a_sale(theirs)
    shutil.copyfile(theirs, ours)
    with pytest.raises(JournalNeedsDecision, match="is another journal"):
        Journal.open(ours)


async def test_an_old_backup_put_back_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    Journal.open(path).close()
    backup = tmp_path / "backup.sqlite3"
    shutil.copyfile(path, backup)
    await _with_a_sale(path)
    shutil.copyfile(backup, path)
    with pytest.raises(JournalNeedsDecision, match="has lost rows"):
        Journal.open(path)


async def test_a_damaged_file_is_named_damaged(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    await _with_a_sale(path)
    path.write_bytes(b"this is not what the agent wrote" * 200)
    with pytest.raises(JournalNeedsDecision, match="is damaged") as refused:
        Journal.open(path)
    assert "free space" not in str(refused.value)
    assert "journal recover" in str(refused.value)


async def test_recover_keeps_the_rows_and_reconciles_the_unfinished(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    await _with_a_sale(path)
    old = identity.read_marker(path)
    result = recover(path)
    assert result.aside is not None
    assert result.aside.exists()
    assert result.copied["sales"] == 1
    assert result.copied["operations"] == 1
    assert result.reconciled == 1
    journal = Journal.open(path)
    try:
        operation = await journal.operation("op-1")
        assert operation is not None
        assert operation.state is OperationState.UNKNOWN
        assert await journal.sale("4711") is not None
    finally:
        journal.close()
    new = identity.read_marker(path)
    assert old is not None
    assert new is not None
    assert new.journal_id != old.journal_id
    assert _origin(path) == "recovered"


async def test_reset_starts_empty_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    await _with_a_sale(path)
    result = reset(path)
    assert result.aside is not None
    with sqlite3.connect(result.aside) as db:
        assert db.execute("SELECT COUNT(*) FROM sales").fetchone()[0] == 1
    journal = Journal.open(path)
    try:
        assert await journal.sale("4711") is None
    finally:
        journal.close()
    assert _origin(path) == "reset"


async def test_recover_reads_what_is_left_of_a_file_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = Journal.open(path)
    for number in range(300):
        await journal.record_sale(sale(f"S-{number}"), [credit(f"op-{number}")], print_receipt=True)
    journal.close()
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.truncate(size * 2 // 3 + 100)  # inside a page, as a failing card cuts it
    with pytest.raises(JournalNeedsDecision, match="is damaged"):
        Journal.open(path)

    result = recover(path)

    assert 0 < result.copied["sales"] < 300
    assert "sales" in result.unreadable
    journal = Journal.open(path)
    try:
        assert await journal.sale("S-0") is not None
    finally:
        journal.close()


async def test_a_command_that_folds_the_wal_in_after_a_crash_is_no_lost_wal(
    tmp_path: Path,
) -> None:
    """review, export or import with the agent stopped after a crash: their connection is
    the last, and SQLite folds the -wal file into the journal and removes it."""
    path = tmp_path / "journal.sqlite3"
    await _with_a_sale(path)
    marker = identity.read_marker(path)
    assert marker is not None
    identity.write_marker(path, dataclasses.replace(marker, open=True))  # as a kill leaves it
    with write_transaction(path) as db:
        db.execute("SELECT COUNT(*) FROM sales")
    assert not identity.wal_path(path).exists()
    Journal.open(path).close()  # not taken for a -wal file lost after a crash
