"""The sandbox's rules where it followed the vendor's docs: unknown fields accepted and
logged, documented parameters accepted, list entries without custom attributes (switch),
current balances in list entries, GET /rewards/{uuid}, a digital reward's reception, and
the documented error messages. Real HTTP against the session's sandbox.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from register_agent.sandbox.seed import load_seed
from tests.conftest import Sandbox
from tests.sandbox.test_sandbox_v1 import data, error
from tests.support.shapes import DOCS, differences, load_example

JAN = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
COFFEE = "6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
DISCOUNT = "80a4d1f6-3b5e-4d7f-a091-bc2d3e4f5061"  # a digital reward
SANDBOX_SOURCES = Path(__file__).resolve().parents[2] / "register_agent" / "sandbox"


def test_unknown_fields_are_ignored_and_listed_in_the_request_log(
    v3: httpx.Client, v1: httpx.Client, sandbox_clean: Sandbox
) -> None:
    found = data(
        v3.get(
            "/contact-identifiers/find",
            params={"contact_identifier_value": "A1B2C3D4", "foo": "bar"},
        )
    )
    assert found["value"] == "A1B2C3D4"
    body = {"contact_uuid": JAN, "unit_value": "5", "receipt_no": "1", "note": ""}
    reception = data(v3.post("/credit-receptions", data=body))
    assert reception["credits"] == 5
    data(v1.post("/credit-receptions", data={"member_id": "7731", "credits": "1", "shop_id": "44"}))
    rows = sandbox_clean.requests()
    assert [r["unknown_fields"] for r in rows] == [["foo"], ["note", "receipt_no"], ["shop_id"]]
    assert all(r["user_agent"].startswith("python-httpx/") for r in rows)
    assert [r["kind"] for r in sandbox_clean.ledger()] == ["credit_reception"] * 2


def test_known_fields_leave_the_log_empty_and_are_still_checked(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    data(v3.get("/contact-identifiers/find", params={"contact_identifier_value": "A1B2C3D4"}))
    error(v3.post("/credit-receptions", data={"contact_uuid": JAN, "unit_value": "x"}), 1003)
    assert [r["unknown_fields"] for r in sandbox_clean.requests()] == [[], []]


def test_contact_uuid_is_accepted_on_the_subscriptions_list(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    listed = data(v3.get(f"/contact-subscriptions/{JAN}", params={"contact_uuid": JAN}))
    assert len(listed) == 2
    assert sandbox_clean.requests()[-1]["unknown_fields"] == []


def _entries(v3: httpx.Client) -> list[dict[str, object]]:
    answer = v3.get(f"/contacts/{JAN}/loyalty-transactions")
    entries: list[dict[str, object]] = data(answer)
    return entries


def _award(v3: httpx.Client, amount: str, operation: str) -> dict[str, object]:
    body = {"contact_uuid": JAN, "unit_value": amount, "agent_operation_id": operation}
    reception: dict[str, object] = data(v3.post("/credit-receptions", data=body))
    return reception


def test_list_entries_leave_attributes_out_in_the_documented_shape(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    created = _award(v3, "5", "op-1")
    assert created["agent_operation_id"] == "op-1"  # the create answer has them (documented)
    assert sandbox_clean.options(list_transaction_attributes=True) == {
        "list_transaction_attributes": True
    }
    assert _entries(v3)[0]["agent_operation_id"] == "op-1"  # switched on
    sandbox_clean.reset()  # back to the seed's default: the documented shape
    created = _award(v3, "5", "op-1")
    entry = _entries(v3)[0]
    assert "agent_operation_id" not in entry
    assert "pos_receipt_id" not in entry
    documented = load_example("contacts/list-loyalty-transactions.json")
    answer = v3.get(f"/contacts/{JAN}/loyalty-transactions").json()
    nullable = ("$.data[].contact_identifier",)
    assert differences(documented, answer, nullable=nullable) == []
    assert sandbox_clean.options() == {"list_transaction_attributes": False}


def test_the_documented_default_is_a_seed_switch() -> None:
    seed = load_seed()
    assert seed.list_transaction_attributes is False
    assert seed.model_copy(update={"list_transaction_attributes": True})


def test_list_entries_show_the_current_balance(v3: httpx.Client) -> None:
    _award(v3, "5", "op-1")
    _award(v3, "7", "op-2")
    entries = _entries(v3)
    assert [e["credits"] for e in entries] == [7, 5]
    balances = {e["contact"]["credit_balance"]["balance"] for e in entries}  # type: ignore[index]
    assert balances == {162}  # 150 + 5 + 7 on both, as the docs' list shows it


def test_get_reward_is_served_as_documented(v3: httpx.Client) -> None:
    reward = data(v3.get(f"/rewards/{COFFEE}"))
    assert (reward["title"], reward["required_credits"], reward["stock"]) == (
        "Free coffee",
        50,
        None,
    )
    assert reward["is_active"] is reward["active"] is True
    assert error(v3.get("/rewards/00000000-0000-4000-8000-000000000000"), 6003)["message"] == (
        "Reward not found."
    )


def test_a_digital_rewards_reception_is_shaped_as_the_sdk_shows_it(v3: httpx.Client) -> None:
    form = {"contact_uuid": JAN, "reward_uuid": DISCOUNT}
    claim = v3.post("/reward-receptions", data=form).json()
    assert claim["data"]["type"] == "digital_reward_reception"
    assert claim["data"]["digital_reward_code"]["code"]
    sdk = json.loads((DOCS.parent / "piggy-php-sdk" / "digital-reward-reception.json").read_text())
    # the SDK's fake answer is an OAuth one (channel, digital_reward); the register
    # answer is the docs' reward reception, so only the names both share are compared
    shared = set(sdk["data"]) & set(claim["data"])
    assert shared >= {"type", "credits", "uuid", "contact", "shop", "created_at", "title"}
    found = differences(
        {k: sdk["data"][k] for k in shared if k not in ("contact", "shop")},
        {k: claim["data"][k] for k in shared if k not in ("contact", "shop")},
    )
    assert found == []
    physical = data(
        v3.post("/reward-receptions", data={"contact_uuid": JAN, "reward_uuid": COFFEE})
    )
    assert physical["type"] == "reward_reception"
    assert physical["expires_at"] is not None
    assert physical["has_been_collected"] is False


_RAISED = re.compile(r'ApiError\(\s*(\d+),\s*"([^"]*)"')


def _sandbox_messages() -> list[tuple[str, str]]:
    """Every (code, message) the sandbox raises whose code the registers pages list (1003's
    "Invalid input." comes with field errors, and stays as it is)."""
    documented = json.loads((DOCS / "error-messages.json").read_text())
    found: set[tuple[str, str]] = set()
    for source in SANDBOX_SOURCES.glob("*.py"):
        found |= set(_RAISED.findall(source.read_text()))
    return sorted((code, text) for code, text in found if code in documented and code != "1003")


@pytest.mark.parametrize(("code", "message"), _sandbox_messages())
def test_error_messages_are_the_documented_ones(code: str, message: str) -> None:
    documented = json.loads((DOCS / "error-messages.json").read_text())
    assert message in documented[code]


def test_the_session_check_catches_an_agent_request_with_an_unknown_field(
    sandbox_clean: Sandbox,
) -> None:
    headers = {"Authorization": f"Bearer {sandbox_clean.v3_key}", "User-Agent": "register-agent/0"}
    url = f"{sandbox_clean.url}/api/v3/register/contacts/{JAN}/credit-balance"
    assert sandbox_clean.http.get(url, params={"shop_id": "44"}, headers=headers).is_success
    before = len(sandbox_clean.agent_unknown_fields)
    sandbox_clean.note_agent_unknown_fields()
    caught = sandbox_clean.agent_unknown_fields[before:]
    assert caught == [f"GET /api/v3/register/contacts/{JAN}/credit-balance: shop_id"]
    sandbox_clean.reset()  # notes it once more, then empties the log
    del sandbox_clean.agent_unknown_fields[before:]  # the test's own request, not the agent's
