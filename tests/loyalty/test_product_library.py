"""The product library's plan (``loyalty/orders/library.py``): only the difference between
the POS's export and the account is sent, new entries in batches, a changed product alone.
Unit tests of the planning alone (the sync against the sandbox's process is in
tests/commands/test_products_sync.py)."""

from __future__ import annotations

from register_agent.loyalty.orders.library import BATCH, Columns, LibraryRow, plan_sync
from register_agent.loyalty.orders.models import Category, Product

BREAD = Category(uuid="c-1", external_identifier="BREAD", name="Bread")


def row(line: int, key: str, name: str, category: str | None = "BREAD") -> LibraryRow:
    return LibraryRow(
        line, key, name, category_id=category, category_name=category and category.title()
    )


def test_new_products_go_in_batches_and_a_renamed_category_alone() -> None:
    rows = [row(i + 2, f"P-{i}", f"Product {i}") for i in range(BATCH * 2 + 1)]
    plan = plan_sync(
        rows, Columns(category=True), [], [BREAD.model_copy(update={"name": "Breads"})]
    )
    assert [(s.method, s.path, len(s.lines)) for s in plan.steps] == [
        ("PUT", "/product-categories/c-1", 1),
        ("POST", "/products/batch", BATCH),
        ("POST", "/products/batch", BATCH),
        ("POST", "/products/batch", 1),
    ]
    assert plan.steps[1].body["products"][0] == {
        "external_identifier": "P-0",
        "name": "Product 0",
        "categories": [{"external_identifier": "BREAD"}],
    }


def test_what_the_account_holds_already_is_not_sent_and_a_change_is_sent_alone() -> None:
    held = [
        Product(uuid="u-1", external_identifier="P-1", name="Loaf", categories=[BREAD]),
        Product(uuid="u-2", external_identifier="P-2", name="Roll", categories=[BREAD]),
    ]
    rows = [row(2, "P-1", "Loaf"), row(3, "P-2", "Bread roll")]
    plan = plan_sync(rows, Columns(category=True), held, [BREAD])
    assert [(s.method, s.path, s.body) for s in plan.steps] == [
        ("PUT", "/products/u-2", {"name": "Bread roll"})
    ]
    assert (plan.unchanged_products, plan.unchanged_categories) == (1, 1)
    # a file without a category column leaves the products' categories alone
    bare = [row(2, "P-1", "Loaf", None), row(3, "P-2", "Roll", None)]
    assert plan_sync(bare, Columns(), held, [BREAD]).steps == []
