"""The sandbox's profile routes over real loopback HTTP: custom attributes on v1 members and
cards and v3 contacts, v3 contact updates, v1 marketing recipients, v3 subscriptions.
"""

from __future__ import annotations

import httpx

from tests.conftest import Sandbox
from tests.sandbox.test_sandbox_v1 import data, error

JAN = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
OPT_IN = "5e1f7c2a-9b3d-4e6f-8a1b-2c3d4e5f6a7b"
DOUBLE = "6f2a8d3b-0c4e-4f7a-9b2c-3d4e5f6a7b8c"
JAN_ATTRIBUTES = {"firstname": "Jan", "tier": "Gold", "birthday": "1980-04-12"}


def test_v1_members_and_cards_carry_their_custom_attributes(v1: httpx.Client) -> None:
    member = data(v1.get("/members/7731"))["member"]
    assert member == {"id": 7731, "email": "jan@example.org", **JAN_ATTRIBUTES}
    card = data(v1.get("/loyalty-cards/find-one-by", params={"hash": "A1B2C3D4"}))
    assert card["card_design"] == "Tulips 2021"
    assert card["member"] == {"id": 7731, "email": "jan@example.org"}


def test_v3_contact_values_hold_the_attributes(v3: httpx.Client) -> None:
    contact = data(v3.get(f"/contacts/{JAN}"))
    assert contact["current_values"]["firstname"] == "Jan"
    assert contact["current_display_values"]["tier"] == "Gold"
    assert contact["current_values"]["loyalty_balance"] == 150


def test_v3_update_contact_sets_defined_attributes_only(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    updated = data(v3.put(f"/contacts/{JAN}", json={"attributes": {"firstname": "Johannes"}}))
    assert updated["current_values"]["firstname"] == "Johannes"
    # the others stay; the tier's raw value is its id, its display value its name
    assert (updated["current_values"]["tier"], updated["current_display_values"]["tier"]) == (
        "2",
        "Gold",
    )
    # the SDK's form encoding works the same: attributes[lastname]=...
    data(v3.put(f"/contacts/{JAN}", data={"attributes[lastname]": "de Vries"}))
    refused = error(v3.put(f"/contacts/{JAN}", json={"attributes": {"shoe_size": "44"}}), 1003)
    assert "attributes.shoe_size" in refused["errors"]
    error(v3.put(f"/contacts/{JAN}", json={}), 1003)
    error(v3.put("/contacts/00000000-0000-4000-8000-000000000000", json={"attributes": {}}), 55031)
    rows = [r for r in sandbox_clean.ledger() if r["kind"] == "contact_updated"]
    assert [r["attributes"] for r in rows] == [{"firstname": "Johannes"}, {"lastname": "de Vries"}]
    assert data(v3.get(f"/contacts/{JAN}"))["current_values"]["lastname"] == "de Vries"


def test_v1_marketing_recipients(v1: httpx.Client, sandbox_clean: Sandbox) -> None:
    created = data(
        v1.post("/marketing-recipients", data={"marketing_program_id": 12, "email": "Jan@x.org"})
    )
    assert created["is_subscribed"] is True
    assert created["email"] == "jan@x.org"
    again = {"marketing_program_id": 12, "email": "jan@x.org"}
    error(v1.post("/marketing-recipients", data=again), 55005)
    error(v1.post("/marketing-recipients", data={**again, "marketing_program_id": 99}), 55004)
    error(v1.post("/marketing-recipients", data={"marketing_program_id": 12}), 1003)
    listed = data(v1.get("/marketing-recipients", params={"email": "jan@x.org"}))
    assert [r["id"] for r in listed] == [created["id"]]
    off = data(v1.put(f"/marketing-recipients/{created['id']}", data={"is_subscribed": "0"}))
    assert off["is_subscribed"] is False
    error(v1.put(f"/marketing-recipients/{created['id']}", data={"is_subscribed": "x"}), 1003)
    error(v1.put("/marketing-recipients/1", data={"is_subscribed": "1"}), 55020)
    error(v1.get("/marketing-recipients/1"), 55020)
    kinds = [(r["kind"], r["is_subscribed"]) for r in sandbox_clean.ledger()]
    assert kinds == [("marketing_recipient_created", True), ("marketing_recipient_updated", False)]


def test_v3_subscriptions_opt_in_double_opt_in_and_out(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    types = data(v3.get("/subscription-types"))
    assert {(t["uuid"], t["strategy"]) for t in types} == {
        (OPT_IN, "OPT_IN"),
        (DOUBLE, "DOUBLE_OPT_IN"),
    }
    before = data(v3.get(f"/contact-subscriptions/{JAN}"))
    assert {s["status"] for s in before} == {0}  # the list numbers it, as documented
    base = f"/contact-subscriptions/{JAN}"
    on = data(v3.put(f"{base}/subscribe", json={"subscription_type_uuid": OPT_IN}))
    assert (on["is_subscribed"], on["status"]) == (True, "SUBSCRIBED")
    pending = data(v3.put(f"{base}/subscribe", data={"subscription_type_uuid": DOUBLE}))
    assert (pending["is_subscribed"], pending["status"]) == (False, "PENDING_CONFIRMATION")
    contact = data(v3.get(f"/contacts/{JAN}"))
    shown = {s["subscription_type"]["uuid"]: s["status"] for s in contact["subscriptions"]}
    assert shown == {OPT_IN: "SUBSCRIBED", DOUBLE: "PENDING_CONFIRMATION"}
    assert contact["current_values"]["subscription_status_1"] == "SUBSCRIBED"
    off = data(v3.put(f"{base}/unsubscribe", json={"subscription_type_uuid": OPT_IN}))
    assert off["status"] == "UNSUBSCRIBED"
    error(v3.put(f"{base}/subscribe", json={"subscription_type_uuid": "nope"}), 55030)
    error(v3.put(f"{base}/subscribe", json={}), 1003)
    unknown = "/contact-subscriptions/00000000-0000-4000-8000-000000000000/subscribe"
    error(v3.put(unknown, json={"subscription_type_uuid": OPT_IN}), 55031)
    rows = [(r["action"], r["status"]) for r in sandbox_clean.ledger()]
    assert rows == [
        ("subscribe", "SUBSCRIBED"),
        ("subscribe", "PENDING_CONFIRMATION"),
        ("unsubscribe", "UNSUBSCRIBED"),
    ]


def test_profile_routes_meet_faults(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    sandbox_clean.set_fault(mode="error_503", count=1, paths=["/api/v3/register/contact-sub"])
    answer = v3.put(
        f"/contact-subscriptions/{JAN}/subscribe", json={"subscription_type_uuid": OPT_IN}
    )
    assert answer.status_code == 503
    assert sandbox_clean.ledger() == []  # nothing applied
