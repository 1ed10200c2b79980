"""What the POS and the till say to each other about customers without a card at hand:
handing out a new card, finding a customer by e-mail, listing customers, choosing one for
the next sale. Typed like ``counter/messages.py``, served by ``api/enrolment.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import Field, model_validator

from register_agent.counter.messages import CustomerView, Message

#: an e-mail as a cashier types it; the loyalty service checks it further
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Card = Annotated[str, Field(min_length=1, max_length=64)]


class HandOutRequest(Message):
    """``POST /v1/cards``: give the customer of ``email`` the card ``card``."""

    email: Email
    #: the card's number; left out: the unregistered card scanned last (within the window)
    card: Card | None = None


class HandOutAnswer(Message):
    """The customer with their new card, and the welcome slip."""

    customer: CustomerView  # ``balance``: the starting balance (None: not read in time)
    #: the member id (v1) or contact uuid (v3): ``customer_key`` of a reward claim
    customer_key: str
    #: "printing": the agent prints the welcome slip; "pos": the POS prints ``slip_lines``
    slip: Literal["printing", "pos"]
    #: the slip's id: ``POST /v1/sales/{slip_id}/reprint`` prints it again
    slip_id: str
    slip_lines: tuple[str, ...]


class CustomerEntry(Message):
    """A customer as a search or a list shows them."""

    key: str  # member id (v1) or contact uuid (v3)
    display: str  # the e-mail the program knows
    balance: int | None  # None in a list (v1 List Members carries no balance)


class CustomerList(Message):
    """``GET /v1/customers?page=&limit=``: one page of the program's customers (v1)."""

    customers: tuple[CustomerEntry, ...]
    page: int
    limit: int
    last_page: int
    total: int | None


class ChooseCustomerRequest(Message):
    """``POST /v1/customer``: the next sale is for the customer of this e-mail or card."""

    email: Email | None = None
    card: Card | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ChooseCustomerRequest:
        if (self.email is None) == (self.card is None):
            raise ValueError("send exactly one of email and card")
        return self


class EnrolmentApi(Protocol):
    """What the local API asks of the enrolment desk; refusals are ``CounterRefusal``s."""

    async def hand_out(self, request: HandOutRequest) -> HandOutAnswer: ...

    async def find(self, email: str) -> CustomerEntry: ...

    async def list_customers(self, page: int, limit: int) -> CustomerList: ...

    async def choose(self, request: ChooseCustomerRequest) -> CustomerView: ...
