"""The sandbox's enrolment routes (hand out a card, find a customer): v1 List Members, v3
find-or-create, claiming an anonymous contact, deleting an identifier; strict input, their
error codes, the ledger, and faults applying to them like to any route.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Sandbox
from tests.sandbox.test_sandbox_v1 import data, error

pytestmark = pytest.mark.timeout(20)

LOOSE_CARD = "D4E5F6A7"


def test_v1_members_are_listed_page_by_page(v1: httpx.Client) -> None:
    first = v1.get("/members", params={"page": 1, "limit": 3}).raise_for_status().json()
    assert [m["id"] for m in first["data"]] == [7731, 7732, 7733]
    assert first["data"][0] == {"id": 7731, "email": "jan@example.org"}
    assert first["meta"] == {"page": 1, "limit": 3, "last_page": 2, "total": 4}
    new = data(v1.post("/members", data={"email": "new@example.org"}))
    second = v1.get("/members", params={"page": 2, "limit": 3}).json()
    assert [m["id"] for m in second["data"]] == [7734, new["id"]]
    assert second["meta"]["total"] == 5
    assert set(error(v1.get("/members", params={"limit": 101}), 1003)["errors"]) == {"limit"}
    assert set(error(v1.get("/members", params={"page": 0}), 1003)["errors"]) == {"page"}


def test_v3_find_or_create_makes_a_contact_once(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    found = data(v3.get("/contacts/find-or-create", params={"email": "jan@example.org"}))
    assert (found["uuid"], found["credit_balance"]) == (
        "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10",
        {"balance": 150},
    )
    made = data(v3.get("/contacts/find-or-create", params={"email": "new@example.org"}))
    again = data(v3.get("/contacts/find-or-create", params={"email": "NEW@example.org"}))
    assert made["uuid"] == again["uuid"]
    assert made["credit_balance"] == {"balance": 0}
    assert [r["kind"] for r in sandbox_clean.ledger()] == ["contact_created"]
    error(v3.get("/contacts/find-or-create", params={"email": "nope"}), 1003)
    error(v3.get("/contacts/find-or-create"), 1003)


def test_v3_anonymous_contact_claimed_with_an_email(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    anonymous = data(v3.post("/contacts/anonymous", data={"contact_identifier_value": LOOSE_CARD}))
    path = f"/contacts/{anonymous['uuid']}/claim"
    error(v3.put(path, data={"email": "jan@example.org"}), 60005)  # another contact's e-mail
    claimed = data(v3.put(path, data={"email": "new@example.org"}))
    assert claimed["email"] == "new@example.org"
    error(v3.put(path, data={"email": "other@example.org"}), 60016)
    error(
        v3.put(
            "/contacts/00000000-0000-4000-8000-000000000000/claim", data={"email": "x@example.org"}
        ),
        55031,
    )
    card = data(
        v3.get("/contact-identifiers/find", params={"contact_identifier_value": LOOSE_CARD})
    )
    assert card["contact"] == {"uuid": anonymous["uuid"], "email": "new@example.org"}
    assert [r["kind"] for r in sandbox_clean.ledger()][-1] == "contact_claimed"


def test_v3_identifier_deleted(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    params = {"contact_identifier_value": LOOSE_CARD}
    deleted = data(v3.delete("/contact-identifiers", params=params))
    assert (deleted["value"], deleted["contact"]) == (LOOSE_CARD, None)
    error(v3.get("/contact-identifiers/find", params=params), 60003)
    error(v3.delete("/contact-identifiers", params=params), 60003)
    error(v3.delete("/contact-identifiers"), 1003)
    assert sandbox_clean.ledger()[-1]["kind"] == "identifier_deleted"
    sandbox_clean.reset()  # the seed's card is back
    assert data(v3.get("/contact-identifiers/find", params=params))["value"] == LOOSE_CARD


def test_faults_apply_to_the_enrolment_routes(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    sandbox_clean.set_fault(mode="drop_after_commit", count=1, paths=["/api/v3/register/contacts"])
    with pytest.raises(httpx.RemoteProtocolError):
        v3.get("/contacts/find-or-create", params={"email": "new@example.org"})
    # applied although unanswered: the contact exists, and asking again finds it
    assert [r["kind"] for r in sandbox_clean.ledger()] == ["contact_created"]
    found = data(v3.get("/contacts/find-or-create", params={"email": "new@example.org"}))
    assert found["email"] == "new@example.org"
    assert len(sandbox_clean.ledger()) == 1
