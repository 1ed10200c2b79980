"""The storm: one real agent process (v1, and v3) and its POS through sales, part refunds and
reward claims, while the sandbox hangs part of the time, drops answers after committing
and answers 500 after committing, all at once, and the agent is killed at random moments
and restarted like systemd would. The POS sends each request again, same id and body,
until it has a definitive answer (tests/support/storm_support.py says what it does with
each). Afterwards the sandbox's ledger must show every acknowledged sale credited once,
every answered refund taken back once, every claim made at most once per claim id, and
whatever a person must decide listed in review; nothing lost, nothing twice.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.agent_harness import MEMBERS, AgentProcess, unique_amount
from tests.support.figures import Figures, record
from tests.support.storm_books import (
    Books,
    check_claims,
    check_refunds,
    check_sales,
    claim_operations,
    part_of,
)
from tests.support.storm_support import Pos

SALES, REFUNDS, CLAIMS, KILLS = 150, 30, 30, 8
#: the orders backend shares v3's outbox and claims, and adds orders and their returns
#: under keys: a smaller storm proves its part (the CI's time is short)
COUNTS = {
    "v1": (SALES, REFUNDS, CLAIMS, KILLS),
    "v3": (SALES, REFUNDS, CLAIMS, KILLS),
    "orders": (70, 12, 8, 4),
}
# sold before anything else: the seed's customers need credits to claim. A claim whose
# answer was lost and that did not land is only taken as "not made" [outbox]
# claim_settle_s after its attempt (CLAIM_SETTLE_S here), and the drain waits for that
FIRST_SALES = 40
#: longer than any answer the faults below hold back (the hang's 2.5 s, the latency's
#: 1.5 s), so a claim still landing is never taken as not made
CLAIM_SETTLE_S = 4.0
SEED = 2027
CARDS = list(MEMBERS)
REWARDS = {  # the seed's coffee (50 credits) and croissant (25)
    "v3": ["6e2b9d4a-1f3c-4b5d-8e7f-9a0b1c2d3e4f", "91b5e207-4c6f-4e80-b1a2-cd3e4f506172"],
    "v1": ["physical:301", "external:304"],
}
REWARDS["orders"] = REWARDS["v3"]  # rewards are the register's, v3's
CLAIMS_POST = {"v3": "reward-receptions", "v1": "rewards/", "orders": "reward-receptions"}
FAULTS = ("timeout", "latency", "drop_after_commit", "error_500_after_commit")
LOST_ANSWER = 0.2  # the POS's own link drops the answer: it sends the request again


def storm_faults(sandbox: Sandbox, version: str) -> None:
    """All at once, each from its own seeded generator: the hang (held longer than the
    counter's deadline and the agent's read timeout, then closed unapplied), a claim's late
    answer (landed after the counter's deadline), drops and 500s."""
    api, claims = f"/api/{'v1' if version == 'v1' else 'v3'}/register/", CLAIMS_POST[version]
    hangs = [api, "/api/v3/oauth/clients/"] if version == "orders" else [api]
    sandbox.set_fault(mode="timeout", rate=0.06, seed=SEED, hold_s=2.5, paths=hangs)
    sandbox.set_fault(
        mode="latency",
        rate=0.15,
        seed=SEED + 1,
        latency_ms=1500,
        methods=["POST"],
        paths=[api + claims],
    )
    sandbox.set_fault(mode="drop_after_commit", rate=0.1, seed=SEED + 2, paths=["/api/"])
    sandbox.set_fault(mode="error_500_after_commit", rate=0.05, seed=SEED + 3, paths=["/api/"])


def plan(rng: random.Random, version: str) -> list[str]:
    """The order of the POS's work: the first sales, then sales, refunds and claims mixed."""
    sales, refunds, claims, _ = COUNTS[version]
    rest = ["sale"] * (sales - FIRST_SALES) + ["refund"] * refunds + ["claim"] * claims
    rng.shuffle(rest)
    return ["sale"] * FIRST_SALES + rest


class Storm:
    """The POS's side of the storm: what it sells, refunds and claims, and its answers."""

    def __init__(self, pos: Pos, rng: random.Random) -> None:
        self.pos, self.rng, self.agent = pos, rng, pos.agent
        self.sold: dict[str, tuple[str, str | None]] = {}  # sale id -> amount, card
        self.refunded: dict[str, tuple[str, str]] = {}  # refund id -> sale id, amount
        self.claimed: dict[str, dict[str, str]] = {}  # claim id -> body
        self.refunds_tried: set[str] = set()  # sale ids
        self.refused_refunds = 0  # v1 cannot take credits back: refused for good
        self.repeats = 0  # requests the POS sent again after losing their answer
        self.repeats_differ: list[str] = []

    def twice_maybe(self, name: str, request: Any) -> httpx.Response:
        """Send; one time in five the POS lost the answer and sends it again: a resend
        answers what the first answered."""
        answer = self.pos.send(request)
        if self.rng.random() < LOST_ANSWER:
            again = self.pos.send(request)
            self.repeats += 1
            if answer.status_code == 200 and again.json() != answer.json():
                self.repeats_differ.append(f"{name}: {answer.text} then {again.text}")
            answer = again
        return answer

    def sale(self) -> None:
        index = len(self.sold)
        sale_id, amount = f"S-{index:03d}", unique_amount(index)
        card = None if index % 5 == 0 else CARDS[index % len(CARDS)]
        self.sold[sale_id] = (amount, card)
        extra = {"customer_card": card} if card else {}
        answer = self.twice_maybe(sale_id, lambda: self.agent.sell(sale_id, amount, **extra))
        assert answer.status_code == 200, answer.text
        self.pos.book.sales[sale_id] = answer.json()

    def refund(self) -> None:
        taken = {sale for sale, _ in self.refunded.values()} | self.refunds_tried
        open_ = [
            s
            for s, (amount, card) in self.sold.items()
            if card and s not in taken and Decimal(amount) >= 3
        ]
        sale_id = self.rng.choice(open_)
        self.refunds_tried.add(sale_id)
        refund_id = f"R-{len(self.refunds_tried):03d}"
        amount = part_of(self.sold[sale_id][0], Decimal("0.4"))
        answer = self.twice_maybe(refund_id, lambda: self.agent.refund(sale_id, amount, refund_id))
        if self.agent.version == "v1":
            assert answer.json()["code"] == "refund_unsupported", answer.text
            self.refused_refunds += 1
            return
        assert answer.status_code == 200, answer.text
        self.refunded[refund_id] = (sale_id, amount)
        self.pos.book.refunds[refund_id] = answer.json()

    def claim(self) -> None:
        claim_id = f"C-{len(self.claimed):03d}"
        reward = self.rng.choice(REWARDS[self.agent.version])
        self.claimed[claim_id] = {
            "claim_id": claim_id,
            "reward_key": reward,
            "customer_card": self.rng.choice(CARDS),
        }
        self.ask(claim_id, twice=True)

    def ask(self, claim_id: str, *, twice: bool = False) -> None:
        """The claim (again); ``claim_not_confirmed`` parks it to be asked later."""
        body, book = self.claimed[claim_id], self.pos.book
        request = lambda: self.agent.http.post("/v1/rewards/claims", json=body)  # noqa: E731
        answer = self.twice_maybe(claim_id, request) if twice else self.pos.send(request)
        if answer.status_code == 409 and answer.json()["code"] == "claim_not_confirmed":
            book.parked.add(claim_id)
            book.lost_answers.add(claim_id)
            return
        assert answer.status_code in (200, 409), answer.text  # made, or refused for good
        book.parked.discard(claim_id)
        book.claims[claim_id] = answer

    def ask_parked_until_settled(self, timeout_s: float) -> set[str]:
        """Ask the parked claims again until each is answered or waits for a person;
        returns the claim ids in review."""
        deadline = time.monotonic() + timeout_s
        while True:
            for claim_id in sorted(self.pos.book.parked):
                self.ask(claim_id)
            states = {c: op["state"] for c, op in claim_operations(self.agent).items()}
            review = {c for c in self.pos.book.parked if states.get(c) == "review"}
            if self.pos.book.parked <= review:
                return review
            assert time.monotonic() < deadline, {c: states.get(c) for c in self.pos.book.parked}
            time.sleep(0.5)


@pytest.mark.faults
@pytest.mark.timeout(300)
@pytest.mark.parametrize("version", ["v1", "v3", "orders"])
def test_storm(version: str, sandbox_clean: Sandbox, tmp_path: Path) -> None:
    """v3 must deliver every sale and refund; v1 cannot take credits back (refunds refused)
    and cannot tell a lost answer's outcome (such sales and claims go to review)."""
    agent = AgentProcess(
        tmp_path,
        sandbox_clean,
        version,
        receipt_wait_s=0,
        prints="pos",
        log_level="warning",
        claim_settle_s=CLAIM_SETTLE_S,
    )
    pos, rng = Pos(agent), random.Random(SEED)
    storm = Storm(pos, rng)
    began = time.monotonic()
    try:
        agent.start()
        storm_faults(sandbox_clean, version)
        steps = plan(rng, version)
        _, refunds, claims, kills = COUNTS[version]
        block = (len(steps) - FIRST_SALES) // kills
        starts = range(FIRST_SALES, FIRST_SALES + kills * block, block)
        kill_at = {rng.randrange(start, start + block) for start in starts}
        for index, step in enumerate(steps):
            if index in kill_at:
                pos.cut_after(rng.uniform(0, 0.3))
            getattr(storm, step)()
            if index % 15 == 0:  # the POS asks its parked claims again now and then
                for claim_id in sorted(pos.book.parked):
                    storm.ask(claim_id)
        pos.settle_cuts()
        sandbox_clean.clear_faults()
        drain_began = time.monotonic()
        review_claims = storm.ask_parked_until_settled(170)
        agent.drain(60)
        drain_s = time.monotonic() - drain_began

        ledger, books = sandbox_clean.ledger(), Books()
        check_sales(books, ledger, agent, storm.sold)
        check_refunds(books, ledger, agent, storm.sold, storm.refunded)
        answers = {claim_id: answer.status_code for claim_id, answer in pos.book.claims.items()}
        lost_answers = pos.book.lost_answers
        check_claims(
            books,
            ledger,
            agent,
            claimed=storm.claimed,
            answers=answers,
            lost_answers=lost_answers,
            review=review_claims,
        )
        met = Counter(row["fault"] for row in sandbox_clean.requests() if row["fault"])
        books.figures.update(
            refunds_refused=storm.refused_refunds,
            faults_met="/".join(f"{mode}:{met[mode]}" for mode in FAULTS),
            kill9=agent.exits.count(-signal.SIGKILL),
            restarts=pos.restarts,
            resent=pos.resent,
            repeated=storm.repeats,
        )
        record(
            Figures(
                f"storm {version}",
                sales=len(storm.sold),
                lost=books.lost,
                duplicated=books.duplicated,
                in_review=books.in_review,
                drain_s=drain_s,
                seconds=time.monotonic() - began,
                extra=books.figures,
            )
        )
        assert (books.lost, books.duplicated) == (0, 0), books
        assert all(met[mode] for mode in FAULTS), met  # the storm did blow
        assert not books.problems, books.problems
        assert not storm.repeats_differ, storm.repeats_differ
        assert not pos.agent_errors, pos.agent_errors
        assert agent.exits.count(-signal.SIGKILL) == len(kill_at) == kills, agent.exits
        assert pos.restarts == kills
        assert len(storm.claimed) == claims
        if version != "v1":  # v3 tells every lost answer's outcome: nothing for a person
            assert (books.in_review, len(storm.refunded)) == (0, refunds), books
            # a part refund's lost answer is told by its own POS transaction, and one lost
            # while opening that POS transaction had sent nothing yet
            assert books.figures["refunds_in_review"] == 0, books.figures
            assert lost_answers, "no claim's answer was lost: the storm missed the claims"
        else:
            assert storm.refused_refunds == refunds
            assert review_claims == lost_answers - set(pos.book.claims)
        status = agent.status()
        assert status["claims_unconfirmed"] == 0, status
        assert status["claims_review"] == len(review_claims), status
    finally:
        agent.close()
