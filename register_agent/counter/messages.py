"""What the POS software and the till say to each other: the requests and answers of the
local API, as typed models. The till (``till/sale.py``) works on these, the local API
(``api/app.py``) serves them, and the printer worker reads the loyalty block from them.

Money is a decimal string on the wire ("12.50") and a ``Decimal`` of whole cents inside;
never a number: a float loses cents (0.1 + 0.2), and an integer leaves the reader guessing
whether 1250 meant euros or cents, so one spelling, the string, is the only one taken.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from register_agent.common.money import API_MAX_AMOUNT, NotAnAmount, parse_pos_amount
from register_agent.receipts.drawer import DrawerAnswer

#: what the POS may use as a sale or claim id: printable, no spaces, at most 64 characters
PosId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")]


def money_schema(*, signed: bool = False) -> dict[str, Any]:
    """An amount in the OpenAPI document, as the POS developer must send it."""
    sign = "-?" if signed else ""
    most = API_MAX_AMOUNT
    bounds = f"from -{most} to {most}" if signed else f"from 0 to {most}"
    return {
        "type": "string",
        "pattern": rf"^{sign}[0-9]+(\.[0-9]{{1,2}})?$",
        "examples": ["-2.00" if signed else "12.50"],
        "description": f'money as a decimal string, e.g. "12.50": digits, an optional dot and '
        f"at most two decimals ({bounds}); a JSON number is refused. "
        '"12.5" and "12.50" are the same amount',
    }


def _pos_amount(signed: bool) -> BeforeValidator:
    def parse(value: object) -> Decimal:
        if isinstance(value, Decimal):  # built in Python (tests, the demo): never JSON
            value = format(value, "f")
        # ValueErrors, not TypeErrors: pydantic turns them into the field's error message
        if not isinstance(value, str):
            raise ValueError('send the amount as a decimal string, e.g. "12.50", not a number')  # noqa: TRY004
        try:
            return parse_pos_amount(value, signed=signed)
        except NotAnAmount as exc:
            raise ValueError(str(exc)) from None

    return BeforeValidator(parse)


#: an amount the POS sends: >= 0, whole cents, compared in cents (common/money.py)
Amount = Annotated[Decimal, _pos_amount(False), WithJsonSchema(money_schema())]
#: a receipt line's amount, which may be negative (a discount)
SignedAmount = Annotated[Decimal, _pos_amount(True), WithJsonSchema(money_schema(signed=True))]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SaleLineIn(Message):
    """A line the POS wants on the agent's receipt; with the orders backend, a line with
    an amount is one of the order's line items (``product``: the POS's identifier of the
    article, as the product library knows it; ``amount``: the line's total)."""

    text: str = Field(max_length=200)
    amount: SignedAmount | None = None
    product: str | None = Field(default=None, min_length=1, max_length=100)
    quantity: int | None = Field(default=None, ge=1, le=100_000)


class SaleRequest(Message):
    """``POST /v1/sales``: a paid sale. The sale id is the idempotency key."""

    sale_id: PosId
    #: at most ``[till] max_sale_amount`` (refused with ``amount_too_large`` above it)
    amount: Amount
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    lines: tuple[SaleLineIn, ...] = Field(default=(), max_length=200)
    #: name the customer explicitly (a card number typed or scanned by the POS itself)
    customer_card: str | None = Field(default=None, min_length=1, max_length=64)
    #: False: the POS prints the loyalty block itself; None: the till's config decides
    print_receipt: bool | None = None
    #: open the cash drawer on the printer's kick port as the sale is recorded (once per
    #: sale id: a repeat of the request gets the first answer and opens nothing)
    open_drawer: bool = False
    #: the cashier confirmed an amount above ``[till] confirm_above``
    confirmed: bool = False
    #: collectable rewards (pre-redeemed: their credits already spent) handed out with
    #: this sale, by uuid (``GET /v1/customer/collectable-rewards``, or a claim's
    #: ``collectable_id``): collected once the sale is recorded, given back on its void
    collect: tuple[PosId, ...] = Field(default=(), max_length=20)


class RewardView(Message):
    key: str
    title: str
    required_credits: int
    claimable: bool  # the balance covers it
    external_property: str | None = None
    media_url: str | None = None  # the reward's picture, for the POS's screen
    #: a claim of it is a collectable reward, handed out with a sale (``collect``)
    pre_redeemable: bool = False


class CollectableView(Message):
    """A reward the customer pre-redeemed (its credits spent), waiting to be handed out:
    the docs' collectable reward, named for the POS. Its ``uuid`` goes into a sale's
    ``collect``."""

    uuid: str
    title: str
    reward_key: str | None = None  # the reward's uuid
    reward_type: str | None = None  # PHYSICAL, DIGITAL
    description: str | None = None
    required_credits: int | None = None  # what it cost
    external_property: str | None = None  # the PLU the POS applies
    media_url: str | None = None
    created_at: str | None = None
    expires_at: str | None = None  # ISO 8601; None: it does not expire


#: a customer's waiting collectable rewards, oldest first
Collectables = tuple[CollectableView, ...]


class CustomerView(Message):
    """The customer as the POS screen shows them."""

    display: str
    balance: int | None
    card_tail: str | None = None  # last 4 characters of the card, for the cashier
    rewards: tuple[RewardView, ...] = ()
    #: the custom attributes the account defines (first name, tier, birthday...), as text
    attributes: dict[str, str] = Field(default_factory=dict)


class CardNotice(Message):
    """Why the card named with a sale could not collect (it went as a sale without a card)."""

    code: str  # stable: "card_unregistered", "card_unknown", "card_inactive"
    message: str  # for the cashier; for an unregistered card it names the hand-out


class LoyaltyBlock(Message):
    """The loyalty part of a receipt, for a POS that prints its own receipts."""

    #: "credited": credits and balance are known; "pending": "points will be added";
    #: "qr": no customer, scan the QR to collect; "none": no loyalty for this sale
    state: Literal["credited", "pending", "qr", "none"]
    lines: tuple[str, ...]
    qr_url: str | None = None
    credits: int | None = None
    balance: int | None = None
    customer: CustomerView | None = None
    #: the customer's attributes as the receipt prints them (``[receipt]
    #: customer_attributes``), e.g. "Name: Jan"; a reprint prints the same
    customer_lines: tuple[str, ...] = ()
    #: set when ``customer_card`` could not collect: the sale got a QR instead (counter/enrolment/)
    notice: CardNotice | None = None


class SaleAnswer(Message):
    sale_id: str
    loyalty: LoyaltyBlock
    #: "printing": the agent prints it; "pos": the POS prints the loyalty block
    receipt: Literal["printing", "pos"]
    #: only when the sale asked for ``open_drawer``
    drawer: DrawerAnswer | None = None


class RefundRequest(Message):
    """``POST /v1/sales/{id}/refund``: the whole sale, or part of it (``amount``).

    ``refund_id`` is the idempotency key, like a sale's id: the same refund id again
    answers the first answer. A part refund needs one (the sale stays open after it, so
    nothing else could tell a resend from a second refund); a whole refund may go without,
    since the sale's state then refuses a second one (``sale_closed``).
    """

    refund_id: PosId | None = None
    amount: Amount | None = Field(default=None, gt=0)


class ActionAnswer(Message):
    """The answer to refund, void and reprint: what the till queued or did."""

    sale_id: str
    action: Literal["refund", "void", "reprint"]
    message: str
    refund_id: str | None = None  # a refund's own id, as the POS sent it


class ClaimRequest(Message):
    """``POST /v1/rewards/claims``: claim a reward; the claim id is the idempotency key.

    The customer is the till's current one unless the POS names one: by card
    (``customer_card``), or by member id (v1) / contact uuid (v3) as ``customer_key``.
    """

    claim_id: PosId
    reward_key: str = Field(min_length=1, max_length=80)
    customer_card: str | None = Field(default=None, min_length=1, max_length=64)
    customer_key: str | None = Field(default=None, min_length=1, max_length=64)
    sale_id: PosId | None = None  # the sale the reward belongs to (voided with it)


class ClaimAnswer(Message):
    claim_id: str
    title: str
    credits: int  # negative: what the reward cost
    balance: int | None
    external_property: str | None = None  # the PLU the POS applies for the reward
    code: str | None = None  # a digital reward's code (also printed for the customer)
    #: the claim slip that prints the code: ``POST /v1/sales/{slip_id}/reprint`` again
    slip_id: str | None = None
    #: a pre-redeemable reward's claim: the collectable reward's uuid, for the ``collect``
    #: of the sale it is handed out with (its credits are spent now)
    collectable_id: str | None = None


class PassthroughFigures(Message):
    """The receipt pass-through's jobs since the agent started (``passthrough/``): every job
    relayed, those that got a loyalty block, and those passed untouched, by reason."""

    relayed: int = 0
    with_block: int = 0
    passed: dict[str, int] = Field(default_factory=dict)


class TillStatus(Message):
    """``GET /v1/status``: the whole till in a few fields."""

    register_api: Literal["reachable", "unreachable", "key_refused", "unknown"]
    outbox_pending: int
    outbox_oldest_age_s: float | None
    outbox_review: int
    outbox_dead: int
    # reward claims whose answer was lost: still being checked, and waiting for a person
    claims_unconfirmed: int = 0
    claims_review: int = 0
    alerts: tuple[str, ...]
    printer: str  # the printer's state and its message, or "none"
    readers: tuple[str, ...]  # "name: ok" / "name: down (detail)"
    #: "ok"; "disk_full" or "damaged": sales and other writes are refused (503) meanwhile
    journal: Literal["ok", "disk_full", "damaged"] = "ok"
    #: the receipt pass-through's jobs; None when it is off
    passthrough: PassthroughFigures | None = None


class TillApi(Protocol):
    """What the local API asks of the till; every refusal is a ``CounterRefusal``."""

    async def sell(self, request: SaleRequest) -> SaleAnswer: ...

    async def refund(self, sale_id: str, request: RefundRequest) -> ActionAnswer: ...

    async def void(self, sale_id: str) -> ActionAnswer: ...

    async def reprint(self, sale_id: str) -> ActionAnswer: ...

    async def current_customer(self) -> CustomerView | None: ...

    async def clear_customer(self) -> None: ...

    async def claim_reward(self, request: ClaimRequest) -> ClaimAnswer: ...

    async def collectable_rewards(self, key: str | None, card: str | None) -> Collectables: ...

    async def status(self) -> TillStatus: ...

    async def open_drawer(self) -> DrawerAnswer: ...
