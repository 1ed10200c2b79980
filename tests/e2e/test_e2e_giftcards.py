"""End to end with giftcards: the real ``register-agent run`` process, its pty reader, the
TCP virtual printer and the sandbox, for v1 and v3. A giftcard pays part of a sale and the
receipt's remaining balance is the sandbox's; overspending is refused and moves nothing; a
payment id posted twice (also after a lost answer) moves money once; top-up and correction;
offline refused; a scanned giftcard reaches the POS screen; a payment nothing could settle
is decided with ``register-agent review`` and then goes through.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import TOKEN_SECRET, AgentProcess

pytestmark = pytest.mark.timeout(60)

CARD, CARD_ID = "GC7F3A9B21", 41650  # EUR 25.00 in the default seed
GIFTCARD_PATHS = ["/api/v[13]/register/giftcard-transactions"]


@pytest.fixture(scope="module", params=["v1", "v3"])
def agent(
    request: pytest.FixtureRequest, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentProcess]:
    """One agent per version for the whole module; each test resets the sandbox and uses
    its own payment ids (the agent's journal remembers them all)."""
    till = AgentProcess(tmp_path_factory.mktemp(request.param), sandbox, request.param)
    config = till.config_path.read_text(encoding="utf-8")
    config = config.replace(
        "debounce_s = 0\n", 'debounce_s = 0\ngiftcard_patterns = ["GC[0-9A-F]{8}"]\n'
    )
    till.config_path.write_text(config, encoding="utf-8")
    try:
        yield till.start()
    finally:
        till.close()


def pay(agent: AgentProcess, payment_id: str, amount: str, **extra: Any) -> httpx.Response:
    body = {"payment_id": f"{agent.version}-{payment_id}", "card": CARD, "amount": amount}
    return agent.http.post("/v1/giftcards/payments", json={**body, **extra})


def gift_rows(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [row for row in sandbox.ledger() if row["kind"].startswith("giftcard_")]


def sandbox_balance(sandbox: Sandbox) -> int:
    """What the card holds now, as the sandbox's own state says (not through the agent)."""
    return int(sandbox.handle.store.giftcards.card(id=CARD_ID).balance)


def test_a_giftcard_pays_part_of_a_sale(agent: AgentProcess, sandbox_clean: Sandbox) -> None:
    sale_id = f"{agent.version}-G-1"
    paid = pay(agent, "P-1", "10.00", sale_id=sale_id)
    assert paid.status_code == 200, paid.text
    answer = paid.json()
    assert (answer["amount"], answer["balance"], answer["card_tail"]) == ("10.00", "15.00", "9B21")
    assert sandbox_balance(sandbox_clean) == 1500
    agent.sell(sale_id, "12.50").raise_for_status()

    receipt = agent.wait_printed(sale_id)
    assert b"Paid with giftcard ****9B21: " in receipt
    assert b"10.00" in receipt
    assert b"Left on the giftcard: " in receipt
    assert f"{sandbox_balance(sandbox_clean) / 100:.2f}".encode() in receipt  # 15.00
    assert CARD.encode() not in receipt
    row = next(r for r in agent_rows(agent) if r["payment_id"] == answer["payment_id"])
    assert (row["card_tail"], row["balance_after"], row["state"]) == ("9B21", 1500, "done")
    assert CARD not in json.dumps(row)  # the journal keeps the last 4 only


def agent_rows(agent: AgentProcess) -> list[dict[str, Any]]:
    with agent.journal() as db:
        return [dict(row) for row in db.execute("SELECT * FROM giftcard_payments")]


def test_overspending_is_refused_naming_the_balance(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    refused = pay(agent, "P-2", "30.00")
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["code"] == "giftcard_insufficient"
    assert "25.00" in body["message"]
    assert "ask for another payment for the rest" in body["message"]
    assert gift_rows(sandbox_clean) == []
    assert sandbox_balance(sandbox_clean) == 2500


def test_the_same_payment_twice_moves_money_once(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    first = pay(agent, "P-3", "4.00").raise_for_status().json()
    second = pay(agent, "P-3", "4.00").raise_for_status().json()
    assert first == second
    assert len(gift_rows(sandbox_clean)) == 1
    other = pay(agent, "P-3", "5.00")  # same id, another amount
    assert (other.status_code, other.json()["code"]) == (409, "giftcard_conflict")
    assert sandbox_balance(sandbox_clean) == 2100


def test_a_giftcard_amount_is_a_plain_decimal_string(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    for amount in ("1e0", "+4", " 4.00", "4_0", "\u0664", 4):
        refused = pay(agent, "P-plain", amount)  # type: ignore[arg-type]
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_request"), amount
    assert gift_rows(sandbox_clean) == []
    first = pay(agent, "P-plain", "4.5").raise_for_status().json()
    assert pay(agent, "P-plain", "4.50").json() == first  # the same amount, in cents


def test_a_lost_answer_still_moves_money_once(agent: AgentProcess, sandbox_clean: Sandbox) -> None:
    sandbox_clean.set_fault(mode="drop_after_commit", count=1, paths=GIFTCARD_PATHS)
    first = pay(agent, "P-4", "6.00")
    assert first.status_code == 200, first.text  # settled by the card's balance
    assert first.json()["balance"] == "19.00"
    assert first.json()["transaction_id"] is None  # its answer never arrived
    met = [r["fault"] for r in sandbox_clean.requests() if "giftcard-trans" in r["path"]]
    assert met == ["drop_after_commit"]
    again = pay(agent, "P-4", "6.00").raise_for_status().json()
    assert again == first.json()
    assert [r["amount_in_cents"] for r in gift_rows(sandbox_clean)] == [-600]
    assert sandbox_balance(sandbox_clean) == 1900


def test_top_up_and_correct_the_last_transaction(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    top_up_id = f"{agent.version}-T-1"
    body = {"top_up_id": top_up_id, "card": CARD, "amount": "5.00"}
    topped = agent.http.post("/v1/giftcards/top-ups", json=body).raise_for_status().json()
    assert topped["balance"] == "30.00"
    paid = pay(agent, "P-5", "2.50").raise_for_status().json()

    older = agent.http.post(f"/v1/giftcards/payments/{top_up_id}/correct")
    assert (older.status_code, older.json()["code"]) == (409, "giftcard_not_last")
    assert "last transaction" in older.json()["message"]
    corrected = agent.http.post(f"/v1/giftcards/payments/{paid['payment_id']}/correct")
    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["state"], corrected.json()["balance"]) == ("corrected", "30.00")
    twice = agent.http.post(f"/v1/giftcards/payments/{paid['payment_id']}/correct")
    assert twice.json() == corrected.json()
    kinds = [(r["kind"], r["amount_in_cents"]) for r in gift_rows(sandbox_clean)]
    assert kinds == [
        ("giftcard_transaction", 500),
        ("giftcard_transaction", -250),
        ("giftcard_correction", 250),
    ]
    assert sandbox_balance(sandbox_clean) == 3000


def test_offline_a_giftcard_cannot_pay(agent: AgentProcess, sandbox_clean: Sandbox) -> None:
    sandbox_clean.set_fault(mode="error_503", paths=["/api/v[13]/register/giftcard"])
    refused = pay(agent, "P-6", "1.00")
    assert (refused.status_code, refused.json()["code"]) == (503, "giftcard_offline")
    assert "another payment" in refused.json()["message"]
    assert gift_rows(sandbox_clean) == []
    sandbox_clean.clear_faults()
    # nothing was queued: the same payment now goes through, once
    pay(agent, "P-6", "1.00").raise_for_status()
    assert len(gift_rows(sandbox_clean)) == 1


def test_a_scanned_giftcard_shows_its_balance(agent: AgentProcess, sandbox_clean: Sandbox) -> None:
    looked_up = agent.http.get(f"/v1/giftcards/{CARD}").raise_for_status().json()
    assert (looked_up["balance"], looked_up["card_tail"]) == ("25.00", "9B21")
    agent.scan(CARD, wait=False)
    event = next_event(agent, "giftcard")
    assert (event["balance"], event["card_tail"], event["reader"]) == ("25.00", "9B21", "counter")
    assert agent.http.get("/v1/customer").status_code == 204  # not taken for a loyalty card


def next_event(agent: AgentProcess, kind: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """The first ``kind`` event of this run (an unreadable id replays the backlog)."""
    ends = time.monotonic() + timeout_s
    with agent.http.stream("GET", "/v1/events", params={"last_event_id": "x"}) as stream:
        current = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                current = line.removeprefix("event: ")
            elif line.startswith("data: ") and current == kind:
                found: dict[str, Any] = json.loads(line.removeprefix("data: "))
                return found
            assert time.monotonic() < ends, f"no {kind} event within {timeout_s} s"
    raise AssertionError(f"the event stream ended before a {kind} event")


def test_an_unanswered_payment_is_checked_before_it_is_sent_again(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    # the request is held past the till's deadline and then dropped, never applied
    sandbox_clean.set_fault(mode="timeout", hold_s=1.5, count=1, paths=GIFTCARD_PATHS)
    first = pay(agent, "P-7", "3.00")
    assert (first.status_code, first.json()["code"]) == (409, "giftcard_not_confirmed")
    assert gift_rows(sandbox_clean) == []
    time.sleep(2.1)  # SETTLE_QUIET_S: the card stayed at its old balance all along
    again = pay(agent, "P-7", "3.00")
    assert again.status_code == 200, again.text
    assert again.json()["balance"] == "22.00"
    assert [r["amount_in_cents"] for r in gift_rows(sandbox_clean)] == [-300]


def test_a_card_that_changed_otherwise_goes_to_review(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    sandbox_clean.set_fault(mode="timeout", hold_s=1.5, count=1, paths=GIFTCARD_PATHS)
    assert pay(agent, "P-8", "3.00").status_code == 409
    other = f"{agent.version}-P-8b"  # another payment on the card meanwhile
    paid = agent.http.post(
        "/v1/giftcards/payments", json={"payment_id": other, "card": CARD, "amount": "1.00"}
    )
    assert paid.status_code == 200, paid.text
    again = pay(agent, "P-8", "3.00")
    assert (again.status_code, again.json()["code"]) == (409, "giftcard_check_card")
    row = next(r for r in agent_rows(agent) if r["payment_id"] == f"{agent.version}-P-8")
    assert row["state"] == "review"
    alert = "1 giftcard payments are not confirmed: check the cards, then register-agent review"
    assert alert in agent.status()["alerts"]
    assert [r["amount_in_cents"] for r in gift_rows(sandbox_clean)] == [-100]


def test_the_same_payment_at_once_from_two_requests_moves_money_once(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    # the sandbox holds each transaction a moment, so both requests are in at once
    sandbox_clean.set_fault(mode="latency", latency_ms=300, paths=GIFTCARD_PATHS)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: pay(agent, "P-9", "2.00"), range(2)))
    assert sorted(a.status_code for a in answers) in ([200, 200], [200, 409])
    assert [r["amount_in_cents"] for r in gift_rows(sandbox_clean)] == [-200]


def review(agent: AgentProcess, *args: str) -> str:
    """``register-agent review ARGS`` as the person runs it beside the running agent."""
    key = agent.sandbox.v1_key if agent.version == "v1" else agent.sandbox.v3_key
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "register_agent",
            "--config",
            str(agent.config_path),
            "review",
            *args,
        ],
        env={
            **os.environ,
            "REGISTER_AGENT_API__API_KEY": key,
            "REGISTER_AGENT_API__LOYALTY_TOKEN_SECRET": TOKEN_SECRET,
        },
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_payment_in_review_decided_not_applied_goes_through_once(
    agent: AgentProcess, sandbox_clean: Sandbox
) -> None:
    payment_id = f"{agent.version}-R-1"
    sandbox_clean.set_fault(mode="timeout", hold_s=1.5, count=1, paths=GIFTCARD_PATHS)
    assert pay(agent, "R-1", "3.00").status_code == 409  # held, then dropped: not applied
    pay(agent, "R-1b", "1.00").raise_for_status()  # the card used meanwhile
    assert pay(agent, "R-1", "3.00").json()["code"] == "giftcard_check_card"

    listing = review(agent)
    assert f"{payment_id}  payment  3.00  card ...9B21" in listing
    assert "balance before 25.00, after unknown" in listing
    assert CARD not in listing
    waiting = unconfirmed(agent)  # earlier tests of this agent may have left one in review
    assert waiting >= 1
    # the dashboard shows only the 1.00: this payment did not move money
    decided = review(agent, "--giftcard-not-applied", payment_id)
    assert f"giftcard payment {payment_id}: not_applied" in decided
    assert unconfirmed(agent) == waiting - 1  # 0: the alert is gone
    assert payment_id not in review(agent)

    again = pay(agent, "R-1", "3.00")  # the POS's repeat is sent for real, once
    assert again.status_code == 200, again.text
    assert (again.json()["balance"], again.json()["state"]) == ("21.00", "done")
    assert pay(agent, "R-1", "3.00").json() == again.json()
    assert [r["amount_in_cents"] for r in gift_rows(sandbox_clean)] == [-100, -300]
    assert sandbox_balance(sandbox_clean) == 2100
    with agent.journal() as db:
        row = db.execute(
            "SELECT decision, decided_by FROM giftcard_decisions WHERE payment_id = ?",
            (payment_id,),
        ).fetchone()
    assert row["decision"] == "not_applied"
    assert row["decided_by"]


def unconfirmed(agent: AgentProcess) -> int:
    """The number in the status alert "N giftcard payments are not confirmed" (0: none)."""
    found = [a for a in agent.status()["alerts"] if "giftcard payments are not confirmed" in a]
    return int(found[0].split()[0]) if found else 0
