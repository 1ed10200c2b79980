"""``register-agent products sync FILE`` in a process of its own against the sandbox's
process: the export's products and categories in the account after, a second run sends
nothing, a changed row updates that one product, a bad file is refused with its lines and
sends nothing, a refused batch is reported with what was not done."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Sandbox

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "sandbox-personal-access-token"

pytestmark = pytest.mark.timeout(120)

CSV = """\
external_identifier;name;category;price;vat
P-1;Sourdough loaf;Bread;4,50;9
P-2;Rye bread;Bread;3.95;9
P-3;Croissant;Pastry;1.80;9
P-4;Gift wrap;;0.50;21
"""


def sync(
    sandbox: Sandbox, tmp_path: Path, export: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[api]\nversion = "v3"\nbase_url = "{sandbox.url}"\n')
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGISTER_AGENT_")}
    env = {**clean, "PYTHONPATH": str(ROOT), "REGISTER_AGENT_API__PERSONAL_ACCESS_TOKEN": TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "register_agent", "--config", str(config), "products", "sync",
         str(export), *options],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT, env=env,
    )  # fmt: skip


def library_rows(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [
        (row["kind"], row["external_identifier"])
        for row in sandbox.ledger()
        if row["kind"].startswith(("product_", "category_"))
    ]


def written(sandbox: Sandbox) -> list[str]:
    """The requests that could change the library (every one but a read)."""
    return [
        f"{row['method']} {row['path']}"
        for row in sandbox.requests()
        if "/oauth/clients/" in row["path"] and row["method"] != "GET"
    ]


def test_a_csv_export_synced_then_again_then_one_row_changed(
    sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    export = tmp_path / "products.csv"
    export.write_text(CSV)
    first = sync(sandbox_clean, tmp_path, export)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "ignored columns: vat" in first.stdout
    assert sorted(library_rows(sandbox_clean)) == sorted(
        [("category_created", "Bread"), ("category_created", "Pastry")]
        + [("product_created", f"P-{i}") for i in range(1, 5)]
    )
    assert written(sandbox_clean) == [
        "POST /api/v3/oauth/clients/product-categories/batch",
        "POST /api/v3/oauth/clients/products/batch",
    ]
    assert TOKEN not in first.stdout + first.stderr

    again = sync(sandbox_clean, tmp_path, export)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing to send" in again.stdout
    assert len(written(sandbox_clean)) == 2  # nothing sent the second time
    assert len(library_rows(sandbox_clean)) == 6

    export.write_text(CSV.replace("P-2;Rye bread;Bread", "P-2;Dark rye bread;Bread"))
    changed = sync(sandbox_clean, tmp_path, export)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    rows = [row for row in sandbox_clean.ledger() if row["kind"] == "product_updated"]
    assert [(row["external_identifier"], row["changed"]) for row in rows] == [("P-2", ["name"])]
    assert len(written(sandbox_clean)) == 3


def test_a_bad_file_names_its_lines_and_sends_nothing(
    sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    export = tmp_path / "products.json"
    export.write_text(
        '[\n  {"external_identifier": "P-1", "name": "Loaf", "price": "4.50"},\n'
        '  {"external_identifier": "P-2", "name": ""},\n'
        '  {"external_identifier": "P-1", "name": "Loaf again", "price": "four"}\n]\n'
    )
    refused = sync(sandbox_clean, tmp_path, export)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "line 3: name is empty" in refused.stderr
    assert "line 4: price is no amount" in refused.stderr
    assert "nothing was sent" in refused.stderr
    assert sandbox_clean.requests() == []
    assert library_rows(sandbox_clean) == []


def test_a_batch_whose_answer_was_lost_is_reported_and_not_sent_twice(
    sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    export = tmp_path / "products.json"
    export.write_text(
        '{"products": [{"external_identifier": "P-9", "name": "Bun", "category": "Bread"},\n'
        '  {"external_identifier": "P-10", "name": "Bagel", "category": "Bread"}]}\n'
    )
    planned = sync(sandbox_clean, tmp_path, export, "--dry-run")
    assert "would create 1 categories (lines 1, 2)" in planned.stdout, planned.stdout
    assert written(sandbox_clean) == []
    sandbox_clean.set_fault(mode="drop_after_commit", count=1, paths=[".*/products/batch"])
    lost = sync(sandbox_clean, tmp_path, export)
    assert lost.returncode == 1, lost.stdout + lost.stderr
    assert "FAILED to create 2 products (lines 1, 2)" in lost.stdout
    assert "Run the same command again" in lost.stdout
    again = sync(sandbox_clean, tmp_path, export)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing to send" in again.stdout
    created = [r for r in library_rows(sandbox_clean) if r[0] == "product_created"]
    assert sorted(created) == [("product_created", "P-10"), ("product_created", "P-9")]
