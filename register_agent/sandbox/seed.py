"""The sandbox's seed: the TOML file describing one Piggy account, read into frozen models.

The default seed ships as ``default_seed.toml`` beside this module. Unknown keys, wrong
types and broken references stop the sandbox with the entry named (``cards[4].member_id``).
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from register_agent.errors import ConfigError
from register_agent.sandbox.seed_vouchers import Voucher, voucher_problems

DEFAULT_SEED_NAME = "default_seed.toml"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(_Entry):
    """A shop's address (``[shops.address]``); every field may be left out (null)."""

    street: str | None = None
    housenumber: int | None = None
    postalcode: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None


class Shop(_Entry):
    """``[[shops]]``: ``credits_per_unit`` credits per currency unit, rounded down."""

    id: int
    uuid: str
    name: str
    credits_per_unit: Decimal = Field(ge=0)
    type: Literal["physical", "webshop"] = "physical"
    address: Address = Address()


class Register(_Entry):
    """``[[registers]]``: one API key per till, bound to one shop."""

    id: int
    api_key: str = Field(min_length=8)
    shop_id: int
    name: str
    identifier: str


class Tier(_Entry):
    """``[[tiers]]``: a loyalty tier; a v3 contact names its tier as the docs show it, an
    object without the ``id`` (which is the tier's raw value in ``current_values``)."""

    id: int
    uuid: str
    name: str
    description: str | None = None
    position: int = 1


class Member(_Entry):
    """``[[members]]``: a customer (a v3 contact); ``credits`` is the starting balance,
    ``tier`` the id of one of the seed's ``tiers``."""

    id: int
    uuid: str
    email: str | None  # None only for anonymous contacts made through the API
    credits: int = 0
    tier: int | None = None
    #: custom attributes (v1 extra keys of the member, v3 the contact's values); each name
    #: must be one of the seed's ``contact_attributes``
    attributes: dict[str, str] = {}


class Card(_Entry):
    """``[[cards]]``: a loyalty card (a v3 contact identifier); no ``member_id`` = unregistered."""

    id: int
    hash: str = Field(min_length=1)
    member_id: int | None = None
    status: Literal["ACTIVE", "INACTIVE", "DISABLED"] = "ACTIVE"
    type: Literal["PHYSICAL", "MOBILE", "WEB"] = "PHYSICAL"
    name: str = "Loyalty card"
    #: the card's custom attributes (v1: extra keys of the loyalty card, Apr 2021)
    attributes: dict[str, str] = {}


class Media(_Entry):
    type: str
    value: str


class Reward(_Entry):
    """``[[rewards]]``: no ``stock`` = unlimited."""

    id: int
    uuid: str
    title: str
    required_credits: int = Field(ge=0)
    type: Literal["physical", "digital", "external"]
    stock: int | None = Field(default=None, ge=0)
    external_property: str | None = None
    media: Media | None = None
    active: bool = True
    description: str | None = None
    #: seconds a claimed reward stays valid (the claim's ``expires_at``); None: no expiry
    expiration_duration: int | None = Field(default=None, ge=0)
    #: a claim of it makes a collectable reward, collected at the counter when the sale is
    #: paid (the docs' "pre-redeem, collect on success")
    pre_redeemable: bool = False


class GiftcardProgram(_Entry):
    """``[[giftcard_programs]]``: ``shop_ids`` empty = every shop may use its cards (else
    7015); ``max_amount_cents`` caps a card's balance (5008)."""

    id: int
    uuid: str
    name: str
    max_amount_cents: int | None = Field(default=None, ge=0)
    shop_ids: tuple[int, ...] = ()


class Giftcard(_Entry):
    """``[[giftcards]]``: ``hash`` is the value in the card's QR / barcode (a bearer secret).

    No ``program_id``: the card is in no program (5007). A DIGITAL card can be loaded once
    (a seeded balance counts as that load); ``upgradeable = false`` refuses every top-up
    (5006); ``max_amount_cents`` caps this card below its program's maximum (5008).
    """

    id: int
    uuid: str
    hash: str = Field(min_length=1)
    balance_cents: int = Field(ge=0)
    program_id: int | None = None
    type: Literal["PHYSICAL", "DIGITAL"] = "PHYSICAL"
    active: bool = True
    upgradeable: bool = True
    expiration_date: str | None = None  # YYYY-MM-DD; past it the card is expired (5002)
    max_amount_cents: int | None = Field(default=None, ge=0)


class MarketingProgram(_Entry):
    """``[[marketing_programs]]``: v1 marketing recipients subscribe to one of these."""

    id: int
    name: str


class SubscriptionType(_Entry):
    """``[[subscription_types]]``: what a v3 contact subscribes to (newsletters)."""

    id: int
    uuid: str
    name: str
    description: str | None = None
    active: bool = True
    strategy: Literal["OPT_IN", "OPT_OUT", "DOUBLE_OPT_IN"] = "OPT_IN"


class LoyaltyProgram(_Entry):
    """``[loyalty_program]``: the account's one loyalty program."""

    id: int = 1
    name: str = "Sandbox loyalty program"
    custom_credit_name: str | None = None
    max_amount: int | None = None


class Seed(_Entry):
    """A whole seeded account."""

    loyalty_token_secret: str = Field(min_length=1)
    #: the account's personal access token: the key of the client API's calls (orders,
    #: order returns), refused on the Register API's routes, as a register key is on its
    personal_access_token: str = Field(default="sandbox-personal-access-token", min_length=8)
    #: products (by the POS's external identifier) that earn no points in an order
    loyalty_excluded_products: tuple[str, ...] = ()
    loyalty_transaction_attributes: tuple[str, ...] = ("agent_operation_id",)
    #: whether entries of ``GET contacts/{uuid}/loyalty-transactions`` carry the custom
    #: attributes. The docs' list example carries none (their create example does), so
    #: false, the documented shape, is the default: the agent decides nothing by them.
    #: ``POST /_sandbox/options`` switches it.
    list_transaction_attributes: bool = False
    tiers: tuple[Tier, ...] = ()
    loyalty_program: LoyaltyProgram = LoyaltyProgram()
    shops: tuple[Shop, ...] = Field(min_length=1)
    registers: tuple[Register, ...] = Field(min_length=1)
    members: tuple[Member, ...] = ()
    cards: tuple[Card, ...] = ()
    rewards: tuple[Reward, ...] = ()
    giftcard_programs: tuple[GiftcardProgram, ...] = ()
    giftcards: tuple[Giftcard, ...] = ()
    marketing_programs: tuple[MarketingProgram, ...] = ()
    #: contact custom attributes that exist in the account: ``PUT contacts/{uuid}`` may set
    #: these; any other name is refused with 1003
    contact_attributes: tuple[str, ...] = ()
    subscription_types: tuple[SubscriptionType, ...] = ()
    vouchers: tuple[Voucher, ...] = ()


def default_seed_path() -> Path:
    """The packaged default seed (a real file inside the installed package)."""
    return Path(str(resources.files("register_agent.sandbox").joinpath(DEFAULT_SEED_NAME)))


def load_seed(path: Path | None = None) -> Seed:
    """Read and check a seed file; ``None`` reads the packaged default."""
    path = path or default_seed_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise ConfigError(f"sandbox seed {path}: cannot be read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sandbox seed {path}: not valid TOML: {exc}") from exc
    try:
        seed = Seed.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(first["loc"])
        raise ConfigError(f"sandbox seed {path}: {where}: {first['msg']}") from exc
    problems = list(_reference_problems(seed))
    if problems:
        raise ConfigError(f"sandbox seed {path}: " + "; ".join(problems))
    return seed


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def _reference_problems(seed: Seed) -> Iterable[str]:
    yield from _duplicates("shops", "id", [s.id for s in seed.shops])
    yield from _duplicates("registers", "api_key", [r.api_key for r in seed.registers])
    yield from _duplicates("members", "id", [m.id for m in seed.members])
    yield from _duplicates("members", "uuid", [m.uuid for m in seed.members])
    yield from _duplicates("members", "email", [(m.email or "").lower() for m in seed.members])
    yield from _duplicates("cards", "hash", [c.hash for c in seed.cards])
    yield from _duplicates("cards", "id", [c.id for c in seed.cards])
    yield from _duplicates("rewards", "id", [r.id for r in seed.rewards])
    yield from _duplicates("rewards", "uuid", [r.uuid for r in seed.rewards])
    yield from _duplicates("tiers", "id", [t.id for t in seed.tiers])
    tier_ids = {t.id for t in seed.tiers}
    for index, member in enumerate(seed.members):
        if member.tier is not None and member.tier not in tier_ids:
            yield f"members[{index}].tier: no tier with id {member.tier}"
    shop_ids = {s.id for s in seed.shops}
    for index, register in enumerate(seed.registers):
        if register.shop_id not in shop_ids:
            yield f"registers[{index}].shop_id: no shop with id {register.shop_id}"
    yield from _duplicates("subscription_types", "uuid", [t.uuid for t in seed.subscription_types])
    defined = set(seed.contact_attributes)
    for index, member in enumerate(seed.members):
        for name in sorted(set(member.attributes) - defined):
            yield f"members[{index}].attributes: {name!r} is not in contact_attributes"
    yield from _giftcard_problems(seed)
    yield from voucher_problems(seed.vouchers, {m.uuid for m in seed.members})
    member_ids = {m.id for m in seed.members}
    for index, card in enumerate(seed.cards):
        if card.member_id is not None and card.member_id not in member_ids:
            yield f"cards[{index}].member_id: no member with id {card.member_id}"


def _giftcard_problems(seed: Seed) -> Iterable[str]:
    yield from _duplicates("giftcards", "hash", [g.hash for g in seed.giftcards])
    yield from _duplicates("giftcards", "id", [g.id for g in seed.giftcards])
    yield from _duplicates("giftcards", "uuid", [g.uuid for g in seed.giftcards])
    program_ids = {p.id for p in seed.giftcard_programs}
    for index, card in enumerate(seed.giftcards):
        if card.program_id is not None and card.program_id not in program_ids:
            yield f"giftcards[{index}].program_id: no giftcard program with id {card.program_id}"


def _duplicates(table: str, key: str, values: list[object]) -> Iterable[str]:
    for value, count in Counter(values).items():
        if count > 1:
            yield f"{table}: {key} {value!r} appears {count} times"
