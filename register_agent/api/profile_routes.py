"""The local API's customer-profile routes: the newsletter opt-in and the attributes a
cashier sets, handed to the profile desk (``profiles.ProfileApi``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from register_agent.api import counter_docs, docs
from register_agent.api.problems import ErrorBody
from register_agent.counter.profiles import (
    AttributesAnswer,
    AttributesRequest,
    NewsletterAnswer,
    NewsletterRequest,
    ProfileApi,
)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": docs.ERRORS[status]} for status in statuses}


def profile_router(desk: ProfileApi) -> APIRouter:
    router = APIRouter(prefix="/v1/customer", tags=["customer"])

    @router.put(
        "/newsletter",
        summary="Opt the customer in or out of the newsletter",
        description=counter_docs.NEWSLETTER,
        responses=_errors(404, 409, 503),
    )
    async def newsletter(
        request: Annotated[
            NewsletterRequest, Body(openapi_examples=counter_docs.NEWSLETTER_EXAMPLES)
        ],
    ) -> NewsletterAnswer:
        return await desk.set_newsletter(request)

    @router.put(
        "/attributes",
        summary="Set the customer's attributes (e.g. the first name)",
        description=counter_docs.ATTRIBUTES,
        responses=_errors(404, 409, 503),
    )
    async def attributes(
        request: Annotated[
            AttributesRequest, Body(openapi_examples=counter_docs.ATTRIBUTES_EXAMPLES)
        ],
    ) -> AttributesAnswer:
        return await desk.set_attributes(request)

    return router
