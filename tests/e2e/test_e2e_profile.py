"""End to end at the counter (attributes and newsletter): the real ``register-agent run``
process, a pty card reader, the TCP virtual printer and the sandbox, for v1 and v3: Jan's
attributes in the customer event, in ``GET /v1/customer`` and on the receipt (and its
reprint); the newsletter opt-in and opt-out recorded in the sandbox; v3 attributes set at
the counter. One agent per version for the whole module.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import AgentProcess, wait_for

JAN_CARD = "A1B2C3D4"
JAN = {"firstname": "Jan", "tier": "Gold", "birthday": "1980-04-12"}
#: the receipt prints the first name and the tier; shoe_size is configured but nobody has it
PROFILE_CONFIG = """
[receipt]
customer_attributes = { firstname = "Name", tier = "Tier", shoe_size = "Shoe size" }

[newsletter]
marketing_program_id = 12
subscription_type = "Nieuwsbrief"
"""
_sale_ids = itertools.count(1)


@pytest.fixture(scope="module", params=["v1", "v3"])
def agent(
    request: pytest.FixtureRequest, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentProcess]:
    sandbox.reset()
    home = tmp_path_factory.mktemp(f"profile-{request.param}")
    till = AgentProcess(home, sandbox, request.param, receipt_wait_s=1.5)
    with till.config_path.open("a", encoding="utf-8") as config:
        config.write(PROFILE_CONFIG)
    try:
        yield till.start()
    finally:
        till.close()
        sandbox.reset()


def scan_jan(agent: AgentProcess) -> dict[str, Any]:
    agent.http.delete("/v1/customer").raise_for_status()
    agent.scan(JAN_CARD)
    customer: dict[str, Any] = agent.http.get("/v1/customer").raise_for_status().json()
    return customer


def customer_events(agent: AgentProcess) -> list[dict[str, Any]]:
    """The ``customer`` events of this run: an unknown last id replays the whole backlog."""
    found: list[dict[str, Any]] = []
    with agent.http.stream("GET", "/v1/events", params={"last_event_id": "x-0"}) as stream:
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "customer":
                found.append(json.loads(line.removeprefix("data: ")))
            elif line.startswith("data: ") and kind == "scan" and found:
                break  # a scan after a customer: the backlog has been read far enough
            elif line == ": keep-alive":
                break
            if found and kind == "customer" and found[-1].get("attributes"):
                break
    return found


def ledger_rows(sandbox: Sandbox, *kinds: str) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"] in kinds]


def test_attributes_in_the_event_the_customer_and_the_receipt(
    agent: AgentProcess, sandbox: Sandbox
) -> None:
    customer = scan_jan(agent)
    attributes = customer["attributes"]
    assert attributes.items() >= JAN.items(), attributes
    if agent.version == "v1":
        assert attributes["card_design"] == "Tulips 2021"  # the card's own attribute
    # the platform's fields among a v3 contact's values never reach the POS
    assert not {"custom_app_login_url", "uuid", "email", "loyalty_balance"} & set(attributes)
    events = customer_events(agent)
    assert events, "no customer event"
    assert events[-1]["attributes"] == attributes

    sale_id = f"P-{agent.version}-{next(_sale_ids)}"
    answer = agent.sell(sale_id, "12.50").raise_for_status().json()
    assert answer["loyalty"]["customer_lines"] == ["Name: Jan", "Tier: Gold"]
    receipt = agent.wait_printed(sale_id)
    assert b"Name: Jan" in receipt
    assert b"Tier: Gold" in receipt
    assert b"Shoe size" not in receipt  # configured, but Jan has none: nothing printed

    # the journal keeps what the receipt prints, not the rest (the birthday)
    stored = next(row for row in agent.journal_rows("sales") if row["sale_id"] == sale_id)
    assert "Gold" in stored["answer"]
    assert "1980-04-12" not in stored["answer"]
    # a reprint prints the same lines, marked COPY
    agent.http.post(f"/v1/sales/{sale_id}/reprint").raise_for_status()
    jobs = wait_for(lambda: agent.printed_for(sale_id)[1:], 5, "the reprint")
    assert b"COPY" in jobs[0]
    assert b"Name: Jan" in jobs[0]
    assert b"Tier: Gold" in jobs[0]
    assert "1980-04-12" not in agent.log()
    assert "Gold" not in agent.log()


def test_newsletter_opt_in_and_out_reach_the_sandbox(agent: AgentProcess, sandbox: Sandbox) -> None:
    scan_jan(agent)
    kinds = (
        ("marketing_recipient_created", "marketing_recipient_updated")
        if agent.version == "v1"
        else ("subscription_changed",)
    )
    before = len(ledger_rows(sandbox, *kinds))
    opted_in = agent.http.put("/v1/customer/newsletter", json={"subscribed": True})
    assert opted_in.status_code == 200, opted_in.text
    assert opted_in.json()["status"] == "subscribed"
    assert opted_in.json()["subscribed"] is True
    opted_out = agent.http.put("/v1/customer/newsletter", json={"subscribed": False})
    assert opted_out.json()["status"] == "unsubscribed", opted_out.text
    rows = ledger_rows(sandbox, *kinds)[before:]
    if agent.version == "v1":
        assert [(r["email"], r["is_subscribed"]) for r in rows] == [
            ("jan@example.org", True),
            ("jan@example.org", False),
        ]
    else:
        assert [r["status"] for r in rows] == ["SUBSCRIBED", "UNSUBSCRIBED"]
        assert {r["contact"] for r in rows} == {"0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"}

    agent.http.delete("/v1/customer").raise_for_status()
    nobody = agent.http.put("/v1/customer/newsletter", json={"subscribed": True})
    assert (nobody.status_code, nobody.json()["code"]) == (409, "no_customer")


def test_attributes_set_at_the_counter(agent: AgentProcess, sandbox: Sandbox) -> None:
    scan_jan(agent)
    answer = agent.http.put("/v1/customer/attributes", json={"attributes": {"lastname": "Bos"}})
    if agent.version == "v1":
        assert (answer.status_code, answer.json()["code"]) == (409, "profile_unsupported")
        return
    assert answer.status_code == 200, answer.text
    assert answer.json()["attributes"]["lastname"] == "Bos"
    shown = agent.http.get("/v1/customer").raise_for_status().json()
    assert shown["attributes"]["lastname"] == "Bos"
    assert ledger_rows(sandbox, "contact_updated")[-1]["attributes"] == {"lastname": "Bos"}
    unknown = agent.http.put("/v1/customer/attributes", json={"attributes": {"shoe_size": "44"}})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "profile_refused")
    assert "attributes.shoe_size" in unknown.json()["message"]
