"""The sandbox's giftcard and prepaid routes (v1 2.1 #15-18, v3 3.1 #16, #30-34): the
documented rules and error codes, every change in the ledger, and a lost answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox

CARD, CARD_ID, CARD_UUID = "GC7F3A9B21", 41650, "45d7a9c1-0b2e-4f3a-8c5d-6e7f8091a2b3"
EXPIRED, DIGITAL_ONCE, CAPPED = "GC0E1F2A3B", "GC1D2E3F4A", "GC2E3F4A5B"
PROGRAM_UUID = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
JAN_UUID = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"


def code(response: httpx.Response) -> int:
    assert response.status_code == 400, response.text
    value: int = response.json()["code"]
    return value


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def gift_rows(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"].startswith("giftcard")]


def test_v1_find_spend_correct(v1: httpx.Client, sandbox_clean: Sandbox) -> None:
    found = data(v1.get("/giftcards/find-one-by", params={"hash": CARD}))
    assert (found["id"], found["amount_in_cents"], found["type"]) == (CARD_ID, 2500, "PHYSICAL")
    assert code(v1.get("/giftcards/find-one-by", params={"hash": "GCNOPE0000"})) == 5001

    spent = data(v1.post("/giftcard-transactions", data={"giftcard_id": CARD_ID, "amount": -1000}))
    assert spent["amount_in_cents"] == -1000
    assert (
        code(v1.post("/giftcard-transactions", data={"giftcard_id": CARD_ID, "amount": -1501}))
        == 5003
    )
    topped = data(v1.post("/giftcard-transactions", data={"giftcard_id": CARD_ID, "amount": 500}))
    # only the card's last transaction can be corrected
    assert code(v1.post(f"/giftcard-transactions/correct/{spent['id']}")) == 55025
    corrected = data(v1.post(f"/giftcard-transactions/correct/{topped['id']}"))
    assert corrected["amount_in_cents"] == -500
    balance = data(v1.get("/giftcards/find-one-by", params={"hash": CARD}))["amount_in_cents"]
    assert balance == 1500
    kinds = [
        (r["kind"], r["amount_in_cents"], r["balance_after_cents"])
        for r in gift_rows(sandbox_clean)
    ]
    assert kinds == [
        ("giftcard_transaction", -1000, 1500),
        ("giftcard_transaction", 500, 2000),
        ("giftcard_correction", -500, 1500),
    ]


def test_v1_is_strict(v1: httpx.Client) -> None:
    assert code(v1.post("/giftcard-transactions", data={"giftcard_id": CARD_ID})) == 1003
    body = {"giftcard_id": CARD_ID, "amount_in_cents": -5}  # the v3 spelling is not v1's
    assert code(v1.post("/giftcard-transactions", data=body)) == 1003
    assert code(v1.post("/giftcards", data={"giftcard_program_id": 5, "type": 0})) == 55021
    made = data(v1.post("/giftcards", data={"giftcard_program_id": 5, "type": 1}))
    assert (made["type"], made["amount_in_cents"]) == ("DIGITAL", 0)
    assert code(v1.post("/giftcards", data={"giftcard_program_id": 99, "type": 1})) == 1100


@pytest.mark.parametrize(
    ("card", "amount", "expected"),
    [(EXPIRED, -100, 5002), (DIGITAL_ONCE, 100, 5006), (CAPPED, 600, 5008), (CAPPED, 0, 1003)],
)
def test_v3_refusals(v3: httpx.Client, card: str, amount: int, expected: int) -> None:
    uuid = data(v3.get("/giftcards/find-one-by", params={"hash": card}))["uuid"]
    body = {"giftcard_uuid": uuid, "amount_in_cents": amount}
    assert code(v3.post("/giftcard-transactions", data=body)) == expected


def test_v3_transaction_get_correct_reverse(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    found = data(v3.get("/giftcards/find-one-by", params={"hash": CARD}))
    assert (found["uuid"], found["display_amount"]) == (
        CARD_UUID,
        "€ 25,00",
    )  # as the docs print it
    body = {"giftcard_uuid": CARD_UUID, "amount_in_cents": -700}
    first = data(v3.post("/giftcard-transactions", data=body))
    assert first["card"]["uuid"] == CARD_UUID
    assert data(v3.get(f"/giftcard-transactions/{first['uuid']}"))["amount_in_cents"] == -700
    assert code(v3.get("/giftcard-transactions/no-such-uuid")) == 5010
    second = data(v3.post("/giftcard-transactions", data=body))
    assert code(v3.post(f"/giftcard-transactions/{first['uuid']}/correct")) == 55025
    data(v3.post(f"/giftcard-transactions/{second['uuid']}/correct"))
    data(v3.post(f"/giftcard-transactions/{first['uuid']}/reverse"))
    assert code(v3.post(f"/giftcard-transactions/{first['uuid']}/reverse")) == 1003
    assert data(v3.get("/giftcards/find-one-by", params={"hash": CARD}))["amount_in_cents"] == 2500
    made = data(v3.post("/giftcards", data={"type": 1, "giftcard_program_uuid": PROGRAM_UUID}))
    assert made["type"] == "DIGITAL"


def test_v3_prepaid(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    assert data(v3.get(f"/contacts/{JAN_UUID}/prepaid-balance"))["balance_in_cents"] == 0
    body = {"contact_uuid": JAN_UUID, "amount_in_cents": 2000}
    loaded = data(v3.post("/prepaid-transactions", data=body))
    assert loaded["prepaid_balance"] == {"balance_in_cents": 2000, "balance": "€20.00"}
    spend = {"contact_identifier_value": "A1B2C3D4", "amount_in_cents": -2500}
    assert code(v3.post("/prepaid-transactions", data=spend)) == 1003
    assert code(v3.post("/prepaid-transactions", data={"amount_in_cents": 5})) == 1003
    assert data(v3.get(f"/contacts/{JAN_UUID}/prepaid/balance"))["balance_in_cents"] == 2000
    rows = [r for r in sandbox_clean.ledger() if r["kind"] == "prepaid_transaction"]
    assert [r["balance_after_cents"] for r in rows] == [2000]


def test_lost_answer_still_moves_money(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    sandbox_clean.set_fault(mode="drop_after_commit", count=1, paths=["/api/v3/register/giftcard-"])
    body = {"giftcard_uuid": CARD_UUID, "amount_in_cents": -300}
    with pytest.raises(httpx.TransportError):
        v3.post("/giftcard-transactions", data=body)
    assert [r["balance_after_cents"] for r in gift_rows(sandbox_clean)] == [2200]
