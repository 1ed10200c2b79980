"""``register-agent export FILE`` / ``import FILE``: a till's undelivered operations moved
to its replacement, so new hardware loses no customer's credits and awards none twice.

Export writes the operations still to deliver (``pending``, ``unknown``, ``review``) with
what delivering and receipting them needs (their sales, the sales' other operations, reward
claims and refund ids); print jobs stay behind. In the same transaction the old till marks
them ``exported``, a final state its outbox never sends.
The file is in place (fsync'd) before that commit; should the commit fail, it is removed.
Import adds them under the same operation ids, so importing twice adds nothing, and an
``unknown`` one stays ``unknown``: the new till reconciles it before any new attempt.

Giftcard payments do not travel: they are online only and never queued. But one whose
outcome nobody knows yet (``register-agent review``) is known to this till's journal
only, and the new till could not settle it (the POS's repeat there would be a new
payment): so the export refuses until a person has decided each one.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from register_agent.errors import JournalError
from register_agent.journal import TRANSITIONS, OperationState, queries
from register_agent.journal import giftcards as giftcard_rows
from register_agent.journal.admin import (
    journal_path,
    move_by_hand,
    record_decision,
    write_transaction,
)

FORMAT = "register-agent-transfer"
FORMAT_VERSION = 1
MOVED = (OperationState.PENDING, OperationState.UNKNOWN, OperationState.REVIEW)
_MOVED_SQL = ", ".join(f"'{state}'" for state in MOVED)
_SALE_COLUMNS = (
    "sale_id, request_digest, amount_cents, currency, customer_key, request, answer,"
    " state, created_at"
)
_OPERATION_COLUMNS = (
    "id, sale_id, kind, customer_key, payload, state, attempts, next_attempt_at,"
    " last_error, server_ref, result, created_at, updated_at"
)
_CLAIM_COLUMNS = (
    "claim_id, request_digest, sale_id, customer_key, reward_key, state, server_ref,"
    " result, created_at, updated_at"
)
_REFUND_COLUMNS = "refund_id, sale_id, amount_cents, answer, created_at"


@dataclass(frozen=True)
class Transferred:
    operations: int  # the ones moved (to deliver on the new till)
    sales: int
    left_in_flight: int = 0  # export: being sent right now by a running agent


def export_operations(
    state_directory: Path, target: Path, *, by: str, agent_stopped: bool = False
) -> Transferred:
    """Write the operations to deliver to ``target`` (mode 0600) and mark them exported.

    ``agent_stopped``: the person says the agent is not running, so what its last stop
    left ``in_flight`` may have applied and goes as ``unknown``, as its restart would do.
    """
    now = time.time()
    if agent_stopped:  # committed on its own: the refusal below lists them for review
        with write_transaction(journal_path(state_directory)) as db:
            giftcard_rows.recover_sending(db, now)
    with write_transaction(journal_path(state_directory)) as db:
        _refuse_unsettled_giftcards(db)
        if agent_stopped:
            queries.recover_in_flight(db, now)
        moved = _rows(
            db,
            f"SELECT {_OPERATION_COLUMNS} FROM operations"  # noqa: S608
            f" WHERE state IN ({_MOVED_SQL}) ORDER BY seq",
        )
        if not moved:
            return Transferred(0, 0, _in_flight(db))
        sale_ids = sorted({row["sale_id"] for row in moved if row["sale_id"]})
        document = _document(db, moved, sale_ids, now)
        _write_private(target, document)
        note = f"{document['export_id']} {target}"  # import_operations reads the id back
        try:
            for row in moved:
                move_by_hand(
                    db, row["id"], OperationState(row["state"]), OperationState.EXPORTED, now=now
                )
                record_decision(db, row["id"], "exported", by=by, now=now, note=note)
        except BaseException:
            target.unlink(missing_ok=True)  # not marked here: the file must not exist
            raise
        return Transferred(len(moved), len(sale_ids), _in_flight(db))


def _refuse_unsettled_giftcards(db: sqlite3.Connection) -> None:
    if waiting := giftcard_rows.count_in(db, giftcard_rows.WAITING):
        raise JournalError(
            f"{waiting} giftcard payments are not confirmed and only this till knows them: "
            "decide each with register-agent review, then export again (nothing was exported)"
        )
    if sending := giftcard_rows.count_in(db, giftcard_rows.SENDING):
        raise JournalError(
            f"{sending} giftcard payments are being sent: export again in a moment; if the "
            "agent is stopped, export with --agent-stopped (nothing was exported)"
        )


def import_operations(state_directory: Path, source: Path, *, by: str) -> Transferred:
    """Add the file's operations to this till's journal; those already here are skipped."""
    document = _read(source)
    now = time.time()
    added_sales = added = 0
    with write_transaction(journal_path(state_directory)) as db:
        for sale in document["sales"]:
            _refuse_other_sale(db, sale)
            added_sales += _insert(db, "sales", _SALE_COLUMNS, sale)
        for table, columns in (("reward_claims", _CLAIM_COLUMNS), ("refunds", _REFUND_COLUMNS)):
            for row in document.get(table, []):  # an older agent's file has no refunds
                _insert(db, table, columns, row)
        note = f"{document['export_id']} from {document['from_till']} via {source.name}"
        for operation in document["operations"]:
            # due at once on this till: the backoff of the old one is no reason to wait
            row = {**operation, "next_attempt_at": min(operation["next_attempt_at"], now)}
            new = _insert(db, "operations", _OPERATION_COLUMNS, row)
            if operation["moved"] and (new or _take_back(db, row, now)):
                added += 1
                record_decision(db, operation["id"], "imported", by=by, now=now, note=note)
    return Transferred(added, added_sales)


def _take_back(db: sqlite3.Connection, row: dict[str, Any], now: float) -> bool:
    """An operation this till exported comes back: only from a file of the till that took
    it over through this till's latest export (``received_via``), which marked it exported
    in turn. Never from an older file (this till's own, or one it has since passed on),
    whose operations another till may have delivered meanwhile."""
    latest = _latest_export(db, row["id"], "exported")
    if latest is None or latest != row.get("received_via"):
        return False
    target = OperationState(row["state"])
    if target not in TRANSITIONS[OperationState.EXPORTED]:
        raise JournalError(f"operation {row['id']}: exported -> {target} is not allowed")
    changed = db.execute(
        "UPDATE operations SET state = ?, payload = ?, attempts = ?, next_attempt_at = ?,"
        " last_error = ?, server_ref = ?, result = ?, updated_at = ?"
        " WHERE id = ? AND state = 'exported'",
        (
            row["state"],
            row["payload"],
            row["attempts"],
            row["next_attempt_at"],
            row["last_error"],
            row["server_ref"],
            row["result"],
            now,
            row["id"],
        ),
    )
    return changed.rowcount == 1


def _latest_export(db: sqlite3.Connection, operation_id: str, decision: str) -> str | None:
    """The export id in the operation's latest ``exported`` / ``imported`` decision note."""
    row = db.execute(
        "SELECT note FROM operation_decisions WHERE operation_id = ? AND decision = ?"
        " ORDER BY id DESC LIMIT 1",
        (operation_id, decision),
    ).fetchone()
    return str(row[0]).split(" ", 1)[0] if row and row[0] else None


def _document(
    db: sqlite3.Connection, moved: list[dict[str, Any]], sale_ids: list[str], now: float
) -> dict[str, Any]:
    marks = ", ".join("?" * len(sale_ids))
    sales = _rows(db, f"SELECT {_SALE_COLUMNS} FROM sales WHERE sale_id IN ({marks})", sale_ids)  # noqa: S608
    # the sales' finished operations travel too (as they are): a refund or a reversal
    # delivered on the new till reads them; they are never sent again (done, dead)
    context = _rows(
        db,
        f"SELECT {_OPERATION_COLUMNS} FROM operations WHERE sale_id IN ({marks})"  # noqa: S608
        f" AND state IN ('done', 'dead') ORDER BY seq",
        sale_ids,
    )
    claims, refunds = (
        _rows(db, f"SELECT {columns} FROM {table} WHERE sale_id IN ({marks})", sale_ids)  # noqa: S608
        for table, columns in (("reward_claims", _CLAIM_COLUMNS), ("refunds", _REFUND_COLUMNS))
    )
    operations = sorted(
        [
            {**row, "moved": True, "received_via": _latest_export(db, row["id"], "imported")}
            for row in moved
        ]
        + [{**row, "moved": False} for row in context],
        key=lambda row: (row["created_at"], not row["moved"]),
    )
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": now,
        "from_till": socket.gethostname(),
        # names this export: the till that wrote it never takes its operations back from it
        "export_id": uuid.uuid4().hex,
        # no API key, no token secret; but a card scanned offline is in an operation's
        # payload until it is resolved, and delivering needs it: hence mode 0600
        "contains_card_values": True,
        "sales": sales,
        "operations": operations,
        "reward_claims": claims,
        "refunds": refunds,  # a part refund sent again on the new till: known by its id
    }


def _rows(db: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _in_flight(db: sqlite3.Connection) -> int:
    return int(
        db.execute("SELECT COUNT(*) FROM operations WHERE state = 'in_flight'").fetchone()[0]
    )


def _insert(db: sqlite3.Connection, table: str, columns: str, row: dict[str, Any]) -> int:
    names = [name.strip() for name in columns.split(",")]
    values = [row[name] for name in names]
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608 (constant names)
        " ON CONFLICT DO NOTHING"
    )
    return db.execute(sql, values).rowcount


def _refuse_other_sale(db: sqlite3.Connection, sale: dict[str, Any]) -> None:
    """The same sale id for another sale here: the operations would attach to the wrong one."""
    row = db.execute(
        "SELECT request_digest FROM sales WHERE sale_id = ?", (sale["sale_id"],)
    ).fetchone()
    if row is not None and row[0] != sale["request_digest"]:
        raise JournalError(
            f"sale {sale['sale_id']} on this till is another sale than the exported one; "
            "nothing was imported: deliver these credits by hand in the Business Dashboard"
        )


def _write_private(target: Path, document: dict[str, Any]) -> None:
    """The file only its owner reads, complete on disk before the old till lets go."""
    temporary = target.with_name(f".{target.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(json.dumps(document, indent=1, sort_keys=True))
        file.flush()
        os.fsync(file.fileno())
    os.chmod(temporary, 0o600)  # an existing temporary file kept its old mode
    temporary.replace(target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _read(source: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise JournalError(f"cannot read the export file {source}: {exc}") from exc
    if document.get("format") != FORMAT or document.get("version") != FORMAT_VERSION:
        raise JournalError(
            f"{source} is not a register-agent export (version {FORMAT_VERSION}); "
            "export it again with this version of register-agent"
        )
    return document


def describe(result: Transferred, verb: str, where: Path) -> str:
    text = f"{result.operations} operations of {result.sales} sales {verb} {where}"
    if result.left_in_flight:
        text += (
            f"; {result.left_in_flight} were being sent by the running agent and stayed: "
            "stop the agent (systemctl stop register-agent) and export again with "
            "--agent-stopped"
        )
    return text
