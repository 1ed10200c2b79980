"""The journal's durable commits per sale, counted on the real agent's SQLite file: its
write-ahead log holds one commit frame per COMMIT that reached the disk (each an fsync
under ``synchronous=FULL``), so the count is read from outside the process, not from
what the agent says of itself.

A v3 sale with a card, credited within the answer's wait and printing nothing, costs:
the sale with its operation, the operation ``in_flight`` together with its POS
transaction's uuid (opened before, harmless unlinked: docs/architecture.md, "Exactly
once", rule 2), the operation ``done`` with its result, and the answer kept for a
repeated request. Four; the POS transaction's uuid in a commit of its own made five.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess

JAN_CARD = "A1B2C3D4"
SALES = 5
COMMITS_PER_SALE = 4


@pytest.fixture
def agent(sandbox_clean: Sandbox, tmp_path: Path) -> Iterator[AgentProcess]:
    # a long wait: every sale's answer comes after its credits, so each sale's commits
    # are over before the next sale starts and none shares a group with another's
    till = AgentProcess(tmp_path, sandbox_clean, "v3", receipt_wait_s=10.0, prints="pos")
    try:
        yield till.start()
    finally:
        till.close()


def wal_commits(wal: Path) -> tuple[int, int]:
    """(the log's generation, its commit frames): the frames carrying the log's current
    salt whose "database size after commit" field is set (sqlite.org/fileformat.html,
    "WAL file format"). A checkpoint that restarts the log changes the generation."""
    data = wal.read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    commits, offset = 0, 32
    while offset + 24 + page_size <= len(data):
        header = data[offset : offset + 24]
        if header[8:16] != salts:
            break  # a frame of an earlier generation: the log ends here
        commits += struct.unpack(">I", header[4:8])[0] != 0
        offset += 24 + page_size
    return struct.unpack(">I", salts[:4])[0], commits


def test_a_credited_sale_costs_four_durable_commits(agent: AgentProcess) -> None:
    wal = agent.state_dir / "journal.sqlite3-wal"
    first = agent.sell("C-0", "10.00", customer_card=JAN_CARD).raise_for_status().json()
    assert first["loyalty"]["credits"] == 10, first  # warmed up: the customer is known
    agent.drain(15)
    generation, before = wal_commits(wal)

    for number in range(1, SALES + 1):
        answer = agent.sell(f"C-{number}", "10.00", customer_card=JAN_CARD)
        assert answer.raise_for_status().json()["loyalty"]["credits"] == 10, answer.text
    agent.drain(15)

    after_generation, after = wal_commits(wal)
    assert after_generation == generation, "the log was checkpointed meanwhile: fewer sales"
    operations = agent.journal_rows("operations")
    assert [op["state"] for op in operations] == ["done"] * (SALES + 1)
    assert (after - before) == SALES * COMMITS_PER_SALE
