"""The sandbox's v3 routes over real loopback HTTP: contacts, identifiers, POS transactions,
credit and reward receptions with reverses, loyalty transactions, rewards, loyalty tokens.
"""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.conftest import Sandbox
from tests.sandbox.test_sandbox_v1 import data, error

JAN = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
MARIE = "3c9a1b2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SHOP = "b7d4e1a0-2c3f-4d5e-8f90-1a2b3c4d5e6f"
COFFEE = "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
COOKBOOK = "7f3c0e5b-2a4d-4c6e-9f80-ab1c2d3e4f50"
SECRET = "sandbox-token-secret"


def balance(v3: httpx.Client, contact: str) -> int:
    result: int = data(v3.get(f"/contacts/{contact}/credit-balance"))["balance"]
    return result


def test_register_program_and_units(v3: httpx.Client) -> None:
    info = data(v3.get(""))
    assert (info["name"], info["identifier"]) == ("Till 1", "T001")
    assert info["shop"]["uuid"] == SHOP
    program = data(v3.get("/loyalty-program"))
    assert program["unit"]["name"] == "purchase_amount"
    assert data(v3.get("/units"))[0]["is_default"] is True


def test_contact_identifier_find(v3: httpx.Client) -> None:
    found = data(
        v3.get("/contact-identifiers/find", params={"contact_identifier_value": "A1B2C3D4"})
    )
    assert found == {
        "name": "Loyalty card",
        "value": "A1B2C3D4",
        "active": True,
        "contact": {"uuid": JAN, "email": "jan@example.org"},
    }
    nfc = data(
        v3.get("/contact-identifiers/find", params={"contact_identifier_value": "04A2241A6B5E80"})
    )
    assert nfc["contact"]["email"] == "sofie@example.org"
    loose = data(
        v3.get("/contact-identifiers/find", params={"contact_identifier_value": "D4E5F6A7"})
    )
    assert loose["contact"] is None
    error(
        v3.get("/contact-identifiers/find", params={"contact_identifier_value": "E5F6A7B8"}), 60004
    )
    error(
        v3.get("/contact-identifiers/find", params={"contact_identifier_value": "00000000"}), 60003
    )
    error(v3.get("/contact-identifiers/find"), 1003)


def test_contact_and_balance(v3: httpx.Client) -> None:
    contact = data(v3.get(f"/contacts/{JAN}"))
    assert contact["email"] == "jan@example.org"
    assert contact["credit_balance"] == {"balance": 150}
    assert data(v3.get("/contacts/find-one-by", params={"email": "jan@example.org"}))["uuid"] == JAN
    assert balance(v3, JAN) == 150
    error(v3.get("/contacts/00000000-0000-4000-8000-000000000000"), 55031)
    error(v3.get("/contacts/nope/credit-balance"), 55031)


def test_credit_reception_linked_to_pos_transaction_once(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    pos = data(
        v3.post(
            "/pos-transactions",
            data={"amount_in_cents": "1250", "transaction_id": "R-913", "terminal_id": "T001"},
        )
    )
    assert (pos["amount_in_cents"], pos["transaction_id"]) == (1250, "R-913")
    form = {
        "contact_uuid": JAN,
        "unit_name": "purchase_amount",
        "unit_value": "12.50",
        "contact_identifier_value": "A1B2C3D4",
        "pos_transaction_uuid": pos["uuid"],
        "agent_operation_id": "op-0001",
    }
    reception = data(v3.post("/credit-receptions", data=form))
    assert reception["type"] == "credit_reception"
    assert (reception["credits"], reception["unit_value"]) == (12, 12.5)
    assert reception["contact"]["credit_balance"]["balance"] == 162
    assert reception["contact_identifier"]["value"] == "A1B2C3D4"
    assert reception["agent_operation_id"] == "op-0001"
    assert reception["shop"]["uuid"] == SHOP

    error(v3.post("/credit-receptions", data=form), 6001)
    sdk_spelling = {**form, "pos_transaction_id": pos["uuid"]}
    del sdk_spelling["pos_transaction_uuid"]
    error(v3.post("/credit-receptions", data=sdk_spelling), 6001)
    assert balance(v3, JAN) == 162
    rows = sandbox_clean.ledger()
    assert [r["kind"] for r in rows] == ["pos_transaction", "credit_reception"]
    assert rows[1]["pos_transaction"] == pos["uuid"]
    assert rows[1]["attributes"] == {"agent_operation_id": "op-0001"}


def test_credit_reception_with_sdk_pos_spelling_and_credits(v3: httpx.Client) -> None:
    pos = data(v3.post("/pos-transactions", json={"amount_in_cents": 500}))
    body = {"contact_uuid": MARIE, "credits": 3, "pos_transaction_id": pos["uuid"]}
    reception = data(v3.post("/credit-receptions", json=body))
    # a reception of credits alone names the program's unit all the same, as documented
    assert (reception["credits"], reception["unit_value"]) == (3, None)
    assert reception["unit"]["name"] == "purchase_amount"
    assert balance(v3, MARIE) == 23


@pytest.mark.parametrize(
    ("form", "code", "fields"),
    [
        ({"unit_value": "5"}, 1003, {"contact_uuid"}),
        ({"contact_uuid": JAN}, 1003, {"unit_value"}),
        (
            {"contact_uuid": JAN, "unit_value": "5", "contact_identifier_value": "B2C3D4E5"},
            1003,
            {"contact_identifier_value"},
        ),
        (
            {
                "contact_uuid": JAN,
                "unit_value": "5",
                "pos_transaction_uuid": "a",
                "pos_transaction_id": "a",
            },
            1003,
            {"pos_transaction_id"},
        ),
        ({"contact_uuid": "nobody", "unit_value": "5"}, 55031, None),
        ({"contact_uuid": JAN, "unit_value": "5", "contact_identifier_value": "99"}, 60003, None),
        (
            {"contact_uuid": JAN, "unit_value": "5", "contact_identifier_value": "E5F6A7B8"},
            60004,
            None,
        ),
        (
            {"contact_uuid": JAN, "unit_value": "5", "contact_identifier_value": "D4E5F6A7"},
            60011,
            None,
        ),
        ({"contact_uuid": JAN, "unit_value": "5", "unit_name": "visits"}, 60007, None),
        ({"contact_uuid": JAN, "unit_value": "5", "pos_transaction_uuid": "nope"}, 1027, None),
        ({"contact_uuid": JAN, "unit_value": "5", "shop_uuid": "another"}, 1008, None),
    ],
)
def test_credit_reception_refusals(
    v3: httpx.Client,
    sandbox_clean: Sandbox,
    form: dict[str, str],
    code: int,
    fields: set[str] | None,
) -> None:
    body = error(v3.post("/credit-receptions", data=form), code)
    assert (set(body["errors"]) if "errors" in body else None) == fields
    assert sandbox_clean.ledger() == []


def test_calculate_is_a_dry_run(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    params = {"unit_value": "19.99", "contact_uuid": JAN, "shop_uuid": SHOP}
    assert data(v3.get("/credit-receptions/calculate", params=params)) == {"credits": 19}
    assert sandbox_clean.ledger() == []
    error(v3.get("/credit-receptions/calculate"), 1003)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_reverse_credit_reception(v3: httpx.Client, sandbox_clean: Sandbox, method: str) -> None:
    reception = data(v3.post("/credit-receptions", data={"contact_uuid": JAN, "unit_value": "30"}))
    reverse = data(v3.request(method, f"/credit-receptions/{reception['uuid']}/reverse"))
    assert reverse["credits"] == -30
    assert balance(v3, JAN) == 150
    error(v3.post(f"/credit-receptions/{reception['uuid']}/reverse"), 1003)
    error(v3.post("/credit-receptions/nope/reverse"), 1028)
    kinds = [r["kind"] for r in sandbox_clean.ledger()]
    assert kinds == ["credit_reception", "reverse_credit_reception"]


def test_loyalty_transactions_are_paginated_newest_first(
    v3: httpx.Client, v1: httpx.Client
) -> None:
    for n in range(3):
        form = {"contact_uuid": JAN, "credits": str(n + 1), "agent_operation_id": f"op-{n}"}
        data(v3.post("/credit-receptions", data=form))
    data(v1.post("/credit-receptions", data={"member_id": "7731", "purchase_amount": "4"}))
    data(v3.post("/reward-receptions", data={"contact_uuid": JAN, "reward_uuid": COFFEE}))
    response = v3.get(f"/contacts/{JAN}/loyalty-transactions", params={"limit": 2, "page": 2})
    page = data(response)
    assert [t["credits"] for t in page] == [3, 2]  # newest first (no attributes listed)
    assert response.json()["meta"] == {
        "page": 2,
        "limit": 2,
        "viewing_from": 3,
        "viewing_to": 4,
        "last_page": 3,
        "total": 5,
    }
    newest = data(v3.get(f"/contacts/{JAN}/loyalty-transactions", params={"limit": 2}))
    assert [t["type"] for t in newest] == ["reward_reception", "credit_reception"]
    assert newest[1]["unit_value"] == 4  # the v1 reception, seen through v3
    rewards_only = data(
        v3.get(f"/contacts/{JAN}/loyalty-transactions", params={"type": "reward_receptions"})
    )
    assert [t["credits"] for t in rewards_only] == [-50]
    error(v3.get(f"/contacts/{JAN}/loyalty-transactions", params={"limit": 101}), 1003)


def test_v1_reception_shows_in_the_v3_balance(v1: httpx.Client, v3: httpx.Client) -> None:
    data(v1.post("/credit-receptions", data={"loyalty_card_id": "55120", "purchase_amount": "10"}))
    assert balance(v3, JAN) == 160


def test_rewards_need_a_contact(v3: httpx.Client) -> None:
    rewards = data(v3.get("/rewards", params={"contact_uuid": JAN}))
    assert [r["uuid"] for r in rewards][:2] == [COFFEE, COOKBOOK]
    assert {r["reward_type"] for r in rewards} == {"PHYSICAL", "DIGITAL"}
    croissant = next(r for r in rewards if r["title"] == "Croissant")
    assert croissant["external_property"] == "PLU-3003"
    assert set(error(v3.get("/rewards"), 1003)["errors"]) == {"contact_uuid"}
    error(v3.get("/rewards", params={"contact_uuid": "nope"}), 55031)


def test_reward_reception_and_its_reverse(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    claim = data(v3.post("/reward-receptions", data={"contact_uuid": JAN, "reward_uuid": COOKBOOK}))
    assert (claim["type"], claim["credits"], claim["title"]) == (
        "reward_reception",
        -100,
        "Signed cookbook",
    )
    assert claim["reward"]["uuid"] == COOKBOOK
    assert claim["contact"]["credit_balance"]["balance"] == 50
    error(
        v3.post(
            "/reward-receptions",
            data={"contact_uuid": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "reward_uuid": COOKBOOK},
        ),
        1018,
    )
    back = data(v3.post(f"/reward-receptions/{claim['uuid']}/reverse"))
    assert (back["type"], back["credits"]) == ("credit_reception", 100)
    assert balance(v3, JAN) == 150
    assert data(v3.get(f"/rewards/{COOKBOOK}"))["stock"] == 1
    error(v3.post("/reward-receptions/nope/reverse"), 1003)
    assert [r["kind"] for r in sandbox_clean.ledger()] == [
        "reward_reception",
        "reverse_reward_reception",
    ]


def test_reward_reception_refusals(v3: httpx.Client) -> None:
    error(v3.post("/reward-receptions", data={"contact_uuid": MARIE, "reward_uuid": COFFEE}), 1017)
    error(v3.post("/reward-receptions", data={"contact_uuid": MARIE, "reward_uuid": "nope"}), 6003)
    assert set(error(v3.post("/reward-receptions", data={}), 1003)["errors"]) == {
        "contact_uuid",
        "reward_uuid",
    }


def mint(unique_id: str, **fields: str) -> dict[str, str]:
    """A loyalty token as the guide builds it (an independent implementation of the hash)."""
    token = {
        "version": "v3",
        "shop_uuid": SHOP,
        "unique_id": unique_id,
        "timestamp": "1764150000",
        **fields,
    }
    text = "&".join(f"{k}={v}" for k, v in token.items()) + f"&secret={SECRET}"
    return {**token, "hash": hashlib.sha1(text.encode()).hexdigest()}  # noqa: S324 (the API's choice)


def test_loyalty_token_claims_once(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    token = mint("T001-4711", unit_name="purchase_amount", unit_value="12.5")
    reception = data(v3.post("/loyalty-tokens", data={**token, "contact_uuid": MARIE}))
    assert reception["credits"] == 12
    assert balance(v3, MARIE) == 32
    error(v3.post("/loyalty-tokens", data={**token, "contact_uuid": JAN}), 1034)
    [row] = sandbox_clean.ledger()
    assert (row["kind"], row["unique_id"], row["credits"]) == ("token_claim", "T001-4711", 12)


def test_tampered_loyalty_token_is_refused(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    token = mint("T001-4712", unit_name="purchase_amount", unit_value="12.5")
    tampered = {**token, "unit_value": "125", "contact_uuid": MARIE}
    assert set(error(v3.post("/loyalty-tokens", data=tampered), 1003)["errors"]) == {"hash"}
    reformatted = {**token, "unit_value": "12.50", "contact_uuid": MARIE}  # hash covers the text
    error(v3.post("/loyalty-tokens", data=reformatted), 1003)
    assert sandbox_clean.ledger() == []
    assert balance(v3, MARIE) == 20


def test_loyalty_token_with_credits_and_version_rules(v3: httpx.Client) -> None:
    token = mint("T001-4713", credits="9")
    assert data(v3.post("/loyalty-tokens", data={**token, "contact_uuid": MARIE}))["credits"] == 9
    v1_units = mint("T001-4714", unit_name="purchase_amount", unit_value="3") | {"version": "v1"}
    error(v3.post("/loyalty-tokens", data={**v1_units, "contact_uuid": MARIE}), 60018)
    v2_credits = mint("T001-4715", credits="3") | {"version": "v2"}
    error(v3.post("/loyalty-tokens", data={**v2_credits, "contact_uuid": MARIE}), 60019)


def test_loyalty_token_url_claimed_through_the_portal(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    token = mint("T001-4716", unit_name="purchase_amount", unit_value="20")
    url = "https://loyalty.example/l?" + httpx.QueryParams(token).__str__()
    claimed = sandbox_clean.claim(url, "marie@example.org")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["data"]["credits"] == 20
    again = sandbox_clean.claim(url, "jan@example.org")
    assert again.json()["code"] == 1034
    bad = sandbox_clean.claim(url.replace("unit_value=20", "unit_value=200"), "jan@example.org")
    assert bad.json()["code"] == 1003
    assert balance(v3, MARIE) == 40


def test_multipart_body_is_accepted(v3: httpx.Client) -> None:
    reception = data(
        v3.post("/credit-receptions", files={"contact_uuid": (None, JAN), "credits": (None, "4")})
    )
    assert reception["credits"] == 4


def test_shop_uuid_is_optional_everywhere_but_must_be_the_registers(v3: httpx.Client) -> None:
    assert data(v3.get(f"/contacts/{JAN}", params={"shop_uuid": SHOP}))["uuid"] == JAN
    error(v3.get(f"/contacts/{JAN}", params={"shop_uuid": MARIE}), 1008)
    assert (
        v3.get("/contact-identifiers/find", params={"contact_identifier_value": "A1B2C3D4"}).json()[
            "meta"
        ]
        == []
    )


def test_out_of_range_numbers_are_1003(v3: httpx.Client) -> None:
    body = {"contact_uuid": JAN, "unit_value": "1e999999", "credits": 2**40}
    errors = error(v3.post("/credit-receptions", json=body), 1003)["errors"]
    assert set(errors) == {"unit_value", "credits"}
    huge = error(
        v3.post(
            "/credit-receptions",
            content=b'{"contact_uuid": "x", "unit_value": 1e999999}',
            headers={"Content-Type": "application/json"},
        ),
        1003,
    )
    assert set(huge["errors"]) == {"unit_value"}


def test_receipt_qr_landing_pages(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    token = mint("T001-4720", unit_name="purchase_amount", unit_value="7")
    url = f"{sandbox_clean.url}/l?{httpx.QueryParams(token)}"
    assert "Points waiting" in sandbox_clean.http.get(url, timeout=5).text
    assert sandbox_clean.claim(url, MARIE).status_code == 200
    assert "already collected" in sandbox_clean.http.get(url, timeout=5).text
    assert (
        sandbox_clean.http.get(url.replace("unit_value=7", "unit_value=8"), timeout=5).status_code
        == 404
    )
    assert sandbox_clean.http.get(f"{sandbox_clean.url}/s/NoSuchHa", timeout=5).status_code == 404
