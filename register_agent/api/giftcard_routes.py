"""The local API's giftcard routes: look a card up, pay part of a sale, top up, correct;
handed to the till's giftcard desk (``GiftcardApi``), documented at ``/docs``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from register_agent.api import counter_docs, docs
from register_agent.api.problems import ErrorBody
from register_agent.counter.giftcards.messages import (
    GiftcardApi,
    GiftcardPaymentAnswer,
    GiftcardPaymentRequest,
    GiftcardTopUpRequest,
    GiftcardView,
)

CardPath = Annotated[
    str,
    Path(
        min_length=4,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the giftcard's value, as in its QR code or barcode",
    ),
]
PaymentId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:/-]+$",
        description="the POS's payment or top-up id",
    ),
]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": docs.ERRORS[status]} for status in statuses}


def giftcard_router(desk: GiftcardApi) -> APIRouter:
    router = APIRouter(prefix="/v1/giftcards", tags=["giftcards"])

    @router.post(
        "/payments",
        summary="Pay (part of) a sale with a giftcard",
        description=counter_docs.GIFTCARD_PAY,
        responses=_errors(404, 409, 503),
    )
    async def pay(
        request: Annotated[
            GiftcardPaymentRequest, Body(openapi_examples=counter_docs.GIFTCARD_PAY_EXAMPLES)
        ],
    ) -> GiftcardPaymentAnswer:
        return await desk.pay(request)

    @router.post(
        "/top-ups",
        summary="Load money onto a giftcard",
        description=counter_docs.GIFTCARD_TOP_UP,
        responses=_errors(404, 409, 503),
    )
    async def top_up(request: GiftcardTopUpRequest) -> GiftcardPaymentAnswer:
        return await desk.top_up(request)

    @router.post(
        "/payments/{payment_id:path}/correct",
        summary="Correct a giftcard payment or top-up (the card's last one only)",
        description=counter_docs.GIFTCARD_CORRECT,
        responses=_errors(404, 409, 503),
    )
    async def correct(payment_id: PaymentId) -> GiftcardPaymentAnswer:
        return await desk.correct(payment_id)

    @router.get(
        "/{card}",
        summary="A giftcard and its balance",
        description=counter_docs.GIFTCARD_LOOK_UP,
        responses=_errors(404, 409, 503),
    )
    async def look_up(card: CardPath) -> GiftcardView:
        return await desk.look_up(card)

    return router
