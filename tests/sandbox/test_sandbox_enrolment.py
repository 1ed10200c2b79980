"""Enrolling customers through the sandbox: new members / contacts and linking cards."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Sandbox
from tests.sandbox.test_sandbox_v1 import data, error

JAN = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
LOOSE_CARD_ID, LOOSE_CARD = 55124, "D4E5F6A7"


def test_v1_new_member_gets_the_loose_card_and_earns(
    v1: httpx.Client, sandbox_clean: Sandbox
) -> None:
    member = data(v1.post("/members", data={"email": "new@example.org"}))
    assert member["email"] == "new@example.org"
    error(v1.post("/members", data={"email": "NEW@example.org"}), 55017)
    assert set(error(v1.post("/members", data={"email": "not-an-email"}), 1003)["errors"]) == {
        "email"
    }
    card = data(
        v1.post(
            "/link-loyalty-card", data={"member_id": member["id"], "loyalty_card_id": LOOSE_CARD_ID}
        )
    )
    assert card["member"] == {"id": member["id"], "email": "new@example.org"}
    error(
        v1.post(
            "/link-loyalty-card", data={"member_id": member["id"], "loyalty_card_id": LOOSE_CARD_ID}
        ),
        55016,
    )
    reception = data(
        v1.post(
            "/credit-receptions", data={"loyalty_card_id": LOOSE_CARD_ID, "purchase_amount": "3.99"}
        )
    )
    assert reception["credit_balance"] == {"balance": 3}
    assert [r["kind"] for r in sandbox_clean.ledger()] == [
        "member_created",
        "card_linked",
        "credit_reception",
    ]


@pytest.mark.parametrize("path", ["/contacts/anonymous", "/contact/anonymous"])
def test_v3_anonymous_contact_with_a_new_identifier(v3: httpx.Client, path: str) -> None:
    created = data(v3.post(path, data={"contact_identifier_value": "04FFEE0011AA22"}))
    found = data(
        v3.get("/contact-identifiers/find", params={"contact_identifier_value": "04FFEE0011AA22"})
    )
    assert found["contact"] == {"uuid": created["uuid"], "email": None}
    error(v3.post(path, data={"contact_identifier_value": "A1B2C3D4"}), 60014)


def test_v3_contact_and_identifier_link_unlink(v3: httpx.Client) -> None:
    contact = data(v3.post("/contacts", data={"email": "new@example.org"}))
    error(v3.post("/contacts", data={"email": "new@example.org"}), 60005)
    linked = data(
        v3.put(
            "/contact-identifiers/link",
            data={"contact_identifier_value": LOOSE_CARD, "contact_uuid": contact["uuid"]},
        )
    )
    assert linked["contact"]["uuid"] == contact["uuid"]
    error(
        v3.put(
            "/contact-identifiers/link",
            data={"contact_identifier_value": LOOSE_CARD, "contact_uuid": JAN},
        ),
        60014,
    )
    unlinked = data(
        v3.put("/contact-identifiers/unlink", data={"contact_identifier_value": LOOSE_CARD})
    )
    assert unlinked["contact"] is None
    error(
        v3.put("/contact-identifiers/unlink", data={"contact_identifier_value": LOOSE_CARD}), 60011
    )
    made = data(
        v3.post(
            "/contact-identifiers",
            data={"contact_identifier_value": "Z9Y8X7W6", "contact_uuid": JAN},
        )
    )
    assert made == {
        "name": "Z9Y8X7W6",
        "value": "Z9Y8X7W6",
        "active": True,
        "contact": {"uuid": JAN, "email": "jan@example.org"},
    }
    error(v3.post("/contact-identifiers", data={"contact_identifier_value": "Z9Y8X7W6"}), 60006)


def test_reset_unlinks_cards_again(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    data(
        v3.put(
            "/contact-identifiers/link",
            data={"contact_identifier_value": LOOSE_CARD, "contact_uuid": JAN},
        )
    )
    sandbox_clean.reset()
    found = data(
        v3.get("/contact-identifiers/find", params={"contact_identifier_value": LOOSE_CARD})
    )
    assert found["contact"] is None
