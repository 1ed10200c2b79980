"""Custom attributes from the API's answers to the receipt: which values count as the
account's own attributes, how the configured ones are labelled, and that a value can never
steer the printer."""

from __future__ import annotations

from register_agent.config import ReceiptConfig
from register_agent.counter.customers import CurrentCustomer, receipt_lines, sale_customer
from register_agent.loyalty.attributes import contact_attributes, custom_attributes, merged
from register_agent.loyalty.domain import Customer, CustomerRef
from register_agent.loyalty.v3.models import Contact
from register_agent.receipts.layout import Receipt, layout_receipt

JAN = CustomerRef(key="7731", card="55120")


def test_only_the_accounts_own_scalar_attributes_are_kept() -> None:
    values = {
        "firstname": "Jan",
        "housenumber": 12,
        "newsletter": True,
        "city": "",
        "age": None,
        "address": {"street": "x"},
        "custom_app_login_url": "https://x/home?token=secret",
        "loyalty_balance": 150,
        "subscription_status_1": "UNSUBSCRIBED",
        "double_opt_in_confirmation_url_1": "https://x",
        "bad name": "x",
    }
    assert custom_attributes(values) == {
        "firstname": "Jan",
        "housenumber": "12",
        "newsletter": "yes",
    }
    assert custom_attributes([]) == {}  # PHP's empty array
    assert custom_attributes({"note": "x" * 500})["note"] == "x" * 200


def test_a_contact_shows_display_values_first() -> None:
    contact = Contact.model_validate(
        {
            "uuid": "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10",
            "current_values": {"tier": "1", "birthday": "1980-04-12"},
            "current_display_values": {"tier": "Gold", "birthday": ""},
            "attributes": {"legacy": "old"},
        }
    )
    assert contact_attributes(contact) == {
        "tier": "Gold",
        "birthday": "1980-04-12",
        "legacy": "old",
    }


def test_the_members_attributes_win_over_the_cards() -> None:
    assert merged({"tier": "Silver", "design": "Tulips"}, {"tier": "Gold"}) == {
        "tier": "Gold",
        "design": "Tulips",
    }


def test_receipt_lines_follow_the_config_and_skip_what_is_missing() -> None:
    attributes = {"firstname": "Jan", "tier": "Gold", "birthday": "1980-04-12"}
    wanted = {"tier": "Tier", "shoe_size": "Shoes", "firstname": ""}
    assert receipt_lines(attributes, wanted) == ("Tier: Gold", "Jan")


def test_a_sale_keeps_only_the_printed_attributes() -> None:
    customers = CurrentCustomer(120)
    customer = Customer(JAN, "jan@example.org", 150, {"firstname": "Jan", "birthday": "1980"})
    bound = customers.bind("A1B2C3D4", customer)
    part = sale_customer(bound, {"firstname": "Name"})
    assert part["customer_lines"] == ("Name: Jan",)
    view = part["customer"]
    assert getattr(view, "attributes", None) == {"firstname": "Jan"}
    assert bound.view().attributes == {"firstname": "Jan", "birthday": "1980"}


def test_an_attribute_cannot_send_printer_commands() -> None:
    receipt = Receipt(sale_id="S-1", customer_lines=("Name: Jan\x1b@\x1dV\x00 \u202eevil",))
    layout = layout_receipt(receipt, ReceiptConfig(), 42)
    text = layout.plain_text()
    assert "Name: Jan" in text
    assert not any(ord(char) < 32 or char == "\u202e" for char in text.replace("\n", ""))
