"""The held receipts' alert (``receipts/held.py``): one sentence naming the sales."""

from __future__ import annotations

from register_agent.receipts.held import held_alert


def test_no_held_receipt_no_alert() -> None:
    assert held_alert([]) is None


def test_the_alert_counts_names_the_first_sales_and_says_what_to_do() -> None:
    one = held_alert(["4711"])
    assert one is not None
    assert one.startswith("1 receipt was not printed")
    assert "(sales 4711)" in one
    many = held_alert([str(n) for n in range(7)])
    assert many is not None
    assert many.startswith("7 receipts were not printed")
    assert "(sales 0, 1, 2, 3, 4, ...)" in many
    assert "reprint" in many
