"""The desk's block comes before the sale's commit only when the sale promises nothing the
journal must keep (``passthrough/desk.py``, ``SaleLoyalty.makes_no_promise``): a unit test
of the desk with a scripted till whose commit the test releases."""

from __future__ import annotations

import asyncio
import concurrent.futures
from decimal import Decimal

import pytest

from register_agent.counter.messages import LoyaltyBlock, SaleAnswer, SaleRequest
from register_agent.journal import NewOperation
from register_agent.journal.kinds import STAGED_CREDIT_RECEPTION
from register_agent.journal.payloads import StagedCreditPayload
from register_agent.passthrough.desk import PassthroughDesk
from register_agent.passthrough.template import FoundReceipt
from register_agent.till.loyalty_block import Early, SaleLoyalty

QR = LoyaltyBlock(state="qr", lines=("Scan to collect",), qr_url="http://shop.test/l?x=1")
PENDING = LoyaltyBlock(state="pending", lines=("Points will be added",))
pytestmark = pytest.mark.anyio

FOUND = FoundReceipt(total=Decimal("12.50"), receipt_no="77", is_copy=False, cut_offset=None)


class ScriptedTill:
    """Tells its answer early when ``early_block`` is set, then waits for ``commit``."""

    def __init__(self, early_block: LoyaltyBlock | None, final: LoyaltyBlock) -> None:
        self.early_block = early_block
        self.final = final
        self.commit = asyncio.Event()
        self.fails: Exception | None = None

    async def sell(
        self,
        request: SaleRequest,
        *,
        early: Early | None = None,
        decided: LoyaltyBlock | None = None,
    ) -> SaleAnswer:
        if early is not None and self.early_block is not None:
            early(SaleAnswer(sale_id=request.sale_id, loyalty=self.early_block, receipt="pos"))
        await self.commit.wait()
        if self.fails is not None:
            raise self.fails
        return SaleAnswer(sale_id=request.sale_id, loyalty=self.final, receipt="pos")

    def sale_at_once(self, request: SaleRequest) -> LoyaltyBlock | None:
        return None

    async def prepare_at_once(self) -> None:
        pass


def desk(till: ScriptedTill) -> PassthroughDesk:
    return PassthroughDesk(till, currency="EUR", language="en", stages_online=False)


async def sell(till: ScriptedTill, told: concurrent.futures.Future[LoyaltyBlock]) -> None:
    selling = desk(till)
    await selling.sell(selling.request_for(FOUND, b"job"), told)


async def test_a_qr_block_is_told_while_the_commit_still_runs() -> None:
    till = ScriptedTill(QR, QR)
    told: concurrent.futures.Future[LoyaltyBlock] = concurrent.futures.Future()
    selling = asyncio.create_task(sell(till, told))
    await asyncio.sleep(0)
    assert told.done()  # the commit has not happened yet
    assert told.result() == QR
    till.commit.set()
    await selling
    assert told.result() == QR


async def test_a_block_that_promises_credits_waits_for_the_commit() -> None:
    till = ScriptedTill(None, PENDING)  # the till never tells a card's sale early
    told: concurrent.futures.Future[LoyaltyBlock] = concurrent.futures.Future()
    selling = asyncio.create_task(sell(till, told))
    await asyncio.sleep(0)
    assert not told.done()
    till.commit.set()
    await selling
    assert told.result() == PENDING


async def test_a_commit_that_fails_after_the_qr_was_told_keeps_the_qr_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    till = ScriptedTill(QR, QR)
    till.fails = RuntimeError("disk gone")
    till.commit.set()
    told: concurrent.futures.Future[LoyaltyBlock] = concurrent.futures.Future()
    await sell(till, told)
    assert told.result() == QR
    assert "a printed sale could not be recorded" in caplog.text


async def test_a_refusal_before_any_answer_reaches_the_judge() -> None:
    till = ScriptedTill(None, QR)
    till.fails = RuntimeError("refused")
    till.commit.set()
    told: concurrent.futures.Future[LoyaltyBlock] = concurrent.futures.Future()
    await sell(till, told)
    assert isinstance(told.exception(), RuntimeError)


STAGED = NewOperation(
    "op-1", STAGED_CREDIT_RECEPTION, None, StagedCreditPayload(sale_id="s", amount="1")
)


@pytest.mark.parametrize(
    ("operations", "drawer", "early"),
    [
        ((), False, True),  # a v3 QR, or nothing: no credit waits in the outbox
        ((STAGED,), False, False),  # an operation the commit must make safe first
        ((), True, False),  # the answer says how the drawer went: after it opened
    ],
)
def test_only_a_sale_without_operations_or_drawer_answers_before_its_commit(
    operations: tuple[NewOperation, ...], drawer: bool, early: bool
) -> None:
    request = SaleRequest(sale_id="s", amount=Decimal("1"), currency="EUR", open_drawer=drawer)
    assert SaleLoyalty.makes_no_promise(request, operations) is early
