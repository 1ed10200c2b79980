"""The sandbox's v1 routes over real loopback HTTP: happy paths and every error code."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox

JAN, MARIE, AHMED = 7731, 7732, 7733
JAN_CARD, MARIE_CARD, AHMED_CARD = 55120, 55121, 55122
UNREGISTERED_CARD, INACTIVE_CARD, DISABLED_CARD = 55124, 55125, 55126
COFFEE, COOKBOOK, DISCOUNT, CROISSANT, CAKE = 301, 302, 303, 304, 305


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    # meta is left out only where the docs leave it out (v3 POS transactions, giftcards)
    assert "data" in body
    assert set(body) <= {"data", "meta"}
    return body["data"]


def error(response: httpx.Response, code: int) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["status_code"] == 400
    assert body["code"] == code, body
    return body


def test_register_info_names_the_till_and_shop(v1: httpx.Client) -> None:
    info = data(v1.get(""))
    assert info["name"] == "Till 2"
    assert info["identifier"] == "T002"
    assert info["shop"]["id"] == 44
    assert info["shop"]["loyalty_program"]["name"] == "Bakkerij Spaarprogramma"


def test_member_is_found_by_email_and_id_with_balance(v1: httpx.Client) -> None:
    by_email = data(v1.get("/members/find-one-by", params={"email": "JAN@example.org"}))
    assert by_email == {
        "member": {
            "id": JAN,
            "email": "jan@example.org",
            # custom attributes are extra keys of the member (docs/register-api.md, v1)
            "firstname": "Jan",
            "tier": "Gold",
            "birthday": "1980-04-12",
        },
        "credit_balance": {"balance": 150},
    }
    assert data(v1.get(f"/members/{JAN}")) == by_email
    error(v1.get("/members/find-one-by", params={"email": "nobody@example.org"}), 55012)
    error(v1.get("/members/999"), 55012)
    missing = error(v1.get("/members/find-one-by"), 1003)
    assert missing["errors"] == {"email": ["The email field is required."]}


def test_loyalty_card_lookup(v1: httpx.Client) -> None:
    card = data(v1.get("/loyalty-cards/find-one-by", params={"hash": "A1B2C3D4"}))
    assert card == {
        "id": JAN_CARD,
        "hash": "A1B2C3D4",
        "type": "PHYSICAL",
        "status": "ACTIVE",
        "member": {"id": JAN, "email": "jan@example.org"},
        "card_design": "Tulips 2021",  # a custom attribute: an extra key (2.1 #6)
    }
    unregistered = data(v1.get("/loyalty-cards/find-one-by", params={"hash": "D4E5F6A7"}))
    assert unregistered["member"] is None
    inactive = data(v1.get("/loyalty-cards/find-one-by", params={"hash": "E5F6A7B8"}))
    assert inactive["status"] == "INACTIVE"
    error(v1.get("/loyalty-cards/find-one-by", params={"hash": "FFFFFFFF"}), 55007)


def test_credit_reception_by_card_rounds_down_and_moves_the_balance(
    v1: httpx.Client, sandbox_clean: Sandbox
) -> None:
    form = {"loyalty_card_id": str(JAN_CARD), "purchase_amount": "12.50"}
    reception = data(v1.post("/credit-receptions", data=form))
    assert reception["credits"] == 12
    assert reception["purchase_amount"] == 12.5
    assert reception["member"] == {"id": JAN, "email": "jan@example.org"}
    assert reception["credit_balance"] == {"balance": 162}
    assert data(v1.get(f"/credit-receptions/{reception['id']}")) == reception
    [row] = sandbox_clean.ledger()
    assert row["kind"] == "credit_reception"
    assert row["api"] == "v1"
    assert row["register"] == {"id": 813, "identifier": "T002"}
    assert (row["card"], row["credits"], row["amount"]) == ("A1B2C3D4", 12, "12.50")
    assert row["member"]["id"] == JAN


def test_credit_reception_by_member_with_fixed_credits_as_json(v1: httpx.Client) -> None:
    reception = data(v1.post("/credit-receptions", json={"member_id": MARIE, "credits": 7}))
    assert reception["credits"] == 7
    assert reception["purchase_amount"] is None
    assert reception["credit_balance"] == {"balance": 27}


@pytest.mark.parametrize(
    ("card", "code"),
    [(UNREGISTERED_CARD, 1013), (INACTIVE_CARD, 1010), (DISABLED_CARD, 1010), (1, 55007)],
)
def test_credit_reception_card_problems(
    v1: httpx.Client, sandbox_clean: Sandbox, card: int, code: int
) -> None:
    form = {"loyalty_card_id": str(card), "purchase_amount": "5"}
    error(v1.post("/credit-receptions", data=form), code)
    assert sandbox_clean.ledger() == []


def test_credit_reception_for_unknown_member_is_55012(v1: httpx.Client) -> None:
    error(v1.post("/credit-receptions", data={"member_id": "1", "credits": "3"}), 55012)


@pytest.mark.parametrize(
    ("form", "fields"),
    [
        ({"purchase_amount": "5"}, {"loyalty_card_id"}),
        ({"member_id": str(JAN)}, {"purchase_amount"}),
        ({"member_id": str(JAN), "loyalty_card_id": str(JAN_CARD), "credits": "1"}, {"member_id"}),
        ({"member_id": str(JAN), "purchase_amount": "12,50"}, {"purchase_amount"}),
        ({"member_id": str(JAN), "credits": "1.5"}, {"credits"}),
        ({"member_id": str(JAN), "credits": "-3"}, {"credits"}),
    ],
)
def test_credit_reception_validation(
    v1: httpx.Client, form: dict[str, str], fields: set[str]
) -> None:
    body = error(v1.post("/credit-receptions", data=form), 1003)
    assert set(body["errors"]) == fields
    assert all(isinstance(m, str) for ms in body["errors"].values() for m in ms)


def test_unknown_credit_reception_is_1028(v1: httpx.Client) -> None:
    error(v1.get("/credit-receptions/1"), 1028)


def test_staged_reception_is_claimed_once(v1: httpx.Client, sandbox_clean: Sandbox) -> None:
    staged = data(v1.post("/staged-credit-receptions", data={"purchase_amount": "8.75"}))
    assert staged["credits"] == 8
    assert staged["purchase_amount"] == 8.75
    assert staged["credit_reception"] is None
    assert staged["url"] == f"{sandbox_clean.url}/s/{staged['hash']}"
    assert len(staged["hash"]) == 8

    claimed = sandbox_clean.claim(staged["url"], "ahmed@example.org")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["data"]["balance"] == 8
    again = sandbox_clean.claim(staged["url"], JAN)
    assert again.status_code == 400
    assert again.json()["code"] == 1034

    after = data(v1.get(f"/staged-credit-receptions/{staged['id']}"))
    assert after["credit_reception"]["credits"] == 8
    assert after["credit_reception"]["member"]["id"] == AHMED
    assert data(v1.get(f"/members/{AHMED}"))["credit_balance"]["balance"] == 8
    kinds = [row["kind"] for row in sandbox_clean.ledger()]
    assert kinds == ["staged_credit_reception", "staged_claim"]


def test_staged_reception_errors(v1: httpx.Client, sandbox_clean: Sandbox) -> None:
    body = error(v1.post("/staged-credit-receptions", data={}), 1003)
    assert set(body["errors"]) == {"purchase_amount"}
    error(v1.get("/staged-credit-receptions/1"), 1041)
    unknown = sandbox_clean.claim(f"{sandbox_clean.url}/s/NoSuchHa", JAN)
    assert unknown.json()["code"] == 1041
    credits_only = data(v1.post("/staged-credit-receptions", data={"credits": "5"}))
    assert (credits_only["credits"], credits_only["purchase_amount"]) == (5, None)


def test_rewards_are_grouped_by_type(v1: httpx.Client) -> None:
    rewards = data(v1.get("/rewards"))
    assert [r["id"] for r in rewards["physical"]] == [COFFEE, COOKBOOK, CAKE]
    assert [r["id"] for r in rewards["digital"]] == [DISCOUNT]
    assert [r["id"] for r in rewards["external"]] == [CROISSANT]
    coffee = rewards["physical"][0]
    assert coffee["external_property"] == "PLU-1001"
    assert coffee["media"] == {"type": "image", "value": "https://cdn.example/coffee.jpg"}
    assert rewards["physical"][1]["stock"] == 1


def test_customer_reward_list_holds_what_they_can_claim(v1: httpx.Client) -> None:
    marie = data(v1.get("/rewards", params={"member_id": MARIE}))  # 20 credits
    assert marie == {"physical": [], "digital": [], "external": []}
    jan = data(v1.get("/rewards", params={"loyalty_card_id": JAN_CARD}))  # 150 credits
    assert [r["id"] for r in jan["physical"]] == [COFFEE, COOKBOOK, CAKE]
    error(v1.get("/rewards", params={"loyalty_card_id": UNREGISTERED_CARD}), 1013)


def test_reward_reception_takes_credits_and_stock(v1: httpx.Client, sandbox_clean: Sandbox) -> None:
    form = {"reward_id": str(COOKBOOK), "loyalty_card_id": str(JAN_CARD)}
    claim = data(v1.post("/rewards/physical/reward-reception", data=form))
    assert claim["credits"] == -100
    assert claim["physical_reward"]["id"] == COOKBOOK
    assert claim["external_property"] == "PLU-2002"
    assert claim["credit_balance"] == {"balance": 50}
    form = {"reward_id": str(COOKBOOK), "member_id": "7734"}
    error(v1.post("/rewards/physical/reward-reception", data=form), 1018)
    [row] = sandbox_clean.ledger()
    assert (row["kind"], row["credits"], row["reward"]["id"]) == ("reward_reception", -100, 302)


def test_reward_reception_by_member_for_external_reward(v1: httpx.Client) -> None:
    form = {"reward_id": str(CROISSANT), "member_id": str(JAN)}
    claim = data(v1.post("/rewards/external/reward-reception", data=form))
    assert claim["credits"] == -25
    assert claim["member"] == {"id": JAN, "email": "jan@example.org"}
    assert claim["external_reward"]["title"] == "Croissant"
    assert claim["external_property"] == "PLU-3003"


def test_reward_reception_errors(v1: httpx.Client) -> None:
    form = {"reward_id": str(COFFEE), "member_id": str(MARIE)}  # 20 < 50
    error(v1.post("/rewards/physical/reward-reception", data=form), 1017)
    form = {"reward_id": str(COFFEE), "member_id": str(JAN)}  # coffee is not digital
    error(v1.post("/rewards/digital/reward-reception", data=form), 6003)
    form = {"reward_id": str(COFFEE), "loyalty_card_id": str(INACTIVE_CARD)}
    error(v1.post("/rewards/physical/reward-reception", data=form), 1010)
    body = error(v1.post("/rewards/physical/reward-reception", data={}), 1003)
    assert set(body["errors"]) == {"reward_id", "loyalty_card_id"}
    assert data(v1.get(f"/members/{MARIE}"))["credit_balance"]["balance"] == 20
