"""The local API's routes for customers without their card at hand: hand out a new card,
find a customer by e-mail, list customers (v1), and choose the next sale's customer by
e-mail or card; each handed to the enrolment desk (``EnrolmentApi``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from register_agent.api import counter_docs, docs
from register_agent.api.problems import ErrorBody
from register_agent.counter.enrolment.messages import (
    ChooseCustomerRequest,
    CustomerList,
    EnrolmentApi,
    HandOutAnswer,
    HandOutRequest,
)
from register_agent.counter.messages import CustomerView

#: the most customers one page of ``GET /v1/customers`` holds (the Register API's cap)
MAX_LIMIT = 100


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": docs.ERRORS[status]} for status in statuses}


def enrolment_router(desk: EnrolmentApi) -> APIRouter:
    router = APIRouter(tags=["customers"])

    @router.post(
        "/v1/cards",
        summary="Hand out a new card to a customer",
        description=counter_docs.HAND_OUT,
        responses=_errors(409, 503),
    )
    async def hand_out(
        request: Annotated[HandOutRequest, Body(openapi_examples=counter_docs.HAND_OUT_EXAMPLES)],
    ) -> HandOutAnswer:
        return await desk.hand_out(request)

    @router.get(
        "/v1/customers",
        summary="Find a customer by e-mail, or list the customers",
        description=counter_docs.CUSTOMERS,
        responses=_errors(404, 409, 503),
    )
    async def customers(
        email: Annotated[str | None, Query(min_length=3, max_length=254)] = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
    ) -> CustomerList:
        if email is not None:
            found = await desk.find(email)
            return CustomerList(customers=(found,), page=1, limit=1, last_page=1, total=1)
        return await desk.list_customers(page, limit)

    @router.post(
        "/v1/customer",
        summary="Make a customer the next sale's, by e-mail or card number",
        description=counter_docs.CHOOSE_CUSTOMER,
        responses=_errors(404, 409, 503),
    )
    async def choose_customer(
        request: Annotated[
            ChooseCustomerRequest, Body(openapi_examples=counter_docs.CHOOSE_EXAMPLES)
        ],
    ) -> CustomerView:
        return await desk.choose(request)

    return router
