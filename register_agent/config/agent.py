"""The sections of the agent itself: the Register API it talks to, its state, the till's
timing, the outbox, the local API, receipts, logging and the newsletter opt-in.
"""

# ruff: noqa: RUF012 (mutable defaults of pydantic fields: pydantic copies them)

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from register_agent.config.sections import Section

#: a counter PIN shorter than this is refused: the login is throttled, not unguessable
MIN_PIN_LENGTH = 6


class ApiConfig(Section):
    """``[api]``: which Register API to talk to, and how patiently."""

    #: "orders": v3 for customers, tokens, rewards and giftcards, and a sale's credits as
    #: an order of the client API (under ``personal_access_token``)
    version: Literal["v1", "v3", "orders"] = "v3"
    base_url: str = "https://api.piggy.eu"
    api_key: SecretStr | None = None
    #: the account's personal access token, for the client API's calls (the orders
    #: backend); account-wide, so best the encrypted credential personal-access-token
    personal_access_token: SecretStr | None = None
    loyalty_token_secret: SecretStr | None = None
    partner_id: str | None = None
    connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    read_timeout_s: float = Field(default=10.0, gt=0, le=120)
    counter_deadline_s: float = Field(default=2.0, gt=0, le=30)
    loyalty_token_base_url: str = "https://loyalty.piggy.eu"  # noqa: S105 (a URL, not a secret)
    shop_uuid: str | None = None

    @field_validator("base_url", "loyalty_token_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL, e.g. https://api.piggy.eu")
        return value.rstrip("/")


class StateConfig(Section):
    """``[state]``: where the journal and the agent's other files live."""

    #: systemd's StateDirectory=; the journal is ``journal.sqlite3`` in it
    directory: Path = Path("/var/lib/register-agent")
    #: finished sales, operations and receipts are removed after this many days
    retention_days: int = Field(default=30, ge=1, le=3650)


class TillConfig(Section):
    """``[till]``: the counter's timing, and who prints."""

    #: a scanned customer is bound to the next sale for at most this long
    customer_window_s: float = Field(default=120.0, gt=0, le=3600)
    #: how long a receipt (and the sale's answer) waits for the credits to be confirmed
    receipt_wait_s: float = Field(default=1.5, ge=0, le=10)
    #: a receipt that could not be printed for this long waits for an explicit reprint
    receipt_freshness_s: float = Field(default=600.0, gt=0, le=86400)
    #: "receipt": the agent prints the whole receipt (the POS sends its lines);
    #: "loyalty_slip": the agent prints only the loyalty part; "pos": the POS prints the
    #: loyalty block from the sale's answer and the agent prints nothing
    prints: Literal["receipt", "loyalty_slip", "pos"] = "receipt"
    #: a sale above this is refused (422 ``amount_too_large``) before it is recorded: the
    #: Register API holds 21474836.47 at most (cents in 32 bits; common.money's
    #: API_MAX_AMOUNT, spelt out here because config sits below common), and a sale it
    #: refuses after the till promised "points will be added" is a promise broken. The
    #: default is far above any shop's sale and still catches cents typed as euros
    max_sale_amount: Decimal = Field(
        default=Decimal("100000.00"), gt=0, le=Decimal("21474836.47"), decimal_places=2
    )
    #: a sale above this is refused (422 ``amount_needs_confirmation``) unless the request
    #: says ``"confirmed": true``: 12.50 typed as 1250 is asked about, not earned; off unset
    confirm_above: Decimal | None = Field(default=None, gt=0, decimal_places=2)
    #: the same card earns at most once within this many seconds: a second sale is still
    #: recorded, without credits, and its answer says why (``card_locked``); 0 is off
    card_lock_s: float = Field(default=0.0, ge=0, le=86400)


class OutboxConfig(Section):
    """``[outbox]``: delivery to the Register API, and the store-and-forward caps."""

    #: customers served in parallel at most (one customer's operations always go in order);
    #: a backlog takes a lane at a time while each adds to its drain (outbox/backlog_room.py);
    #: the sales the till is answering start theirs beyond it while backlog deliveries, which
    #: give way to the till, hold every slot
    concurrency: int = Field(default=4, ge=1, le=32)
    backoff_base_s: float = Field(default=2.0, gt=0, le=60)
    backoff_max_s: float = Field(default=300.0, gt=0, le=3600)
    #: wait before reconciling an operation whose outcome is unknown
    unknown_delay_s: float = Field(default=5.0, ge=0, le=600)
    #: a reward claim whose answer was lost and that the customer's transactions do not
    #: show this long after its attempt is taken as not made (the POS may claim again): a
    #: request the server was still working on can land after the till's deadline
    claim_settle_s: float = Field(default=120.0, ge=1, le=3600)
    #: a voucher locked for a sale that is neither posted nor voided this long after is
    #: released by the outbox: well inside the hour after which Leat releases a lock by
    #: itself, so the till, not Leat's clock, decides, and a late sale finds it released
    voucher_hold_s: float = Field(default=1800.0, ge=1, le=3000)
    #: alert (in status and metrics) when more operations than this wait ...
    max_pending: int = Field(default=500, ge=1)
    #: ... or when the oldest has waited longer than this
    max_age_s: float = Field(default=86400.0, gt=0)


class LocalApiConfig(Section):
    """``[local_api]``: the HTTP API the POS software calls, and the metrics listener."""

    #: "HOST:PORT" (loopback by default) or "unix:/run/register-agent/api.sock"
    listen: str = "127.0.0.1:8721"
    #: the bearer token the POS must send; best given as the credential local-api-token
    token: SecretStr | None = None
    #: Prometheus metrics ("HOST:PORT"); no secrets and no card values; "" turns it off
    metrics_listen: str = "127.0.0.1:9464"
    #: a PIN the counter page may log in with instead of the token; best given as the
    #: credential counter-pin; unset: the page logs in with the token only
    counter_pin: SecretStr | None = None
    #: how long a browser session (the counter page's cookie) lasts
    session_ttl_s: float = Field(default=43200.0, ge=1, le=30 * 86400)
    #: the web origins a browser POS may call the API from (CORS), e.g.
    #: ["https://pos.example.com"]; empty: no other origin
    cors_origins: tuple[str, ...] = ()
    #: both set: the API speaks https with this certificate and key (PEM files)
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @field_validator("counter_pin")
    @classmethod
    def _pin_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_PIN_LENGTH:
            raise ValueError(f"must have at least {MIN_PIN_LENGTH} characters; choose a longer PIN")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or origin != f"{parts.scheme}://{parts.netloc}"
            ):
                # "*" would hand the till to every web page a cashier opens
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port] exactly as the "
                    "browser shows it, without a path or '/', e.g. https://pos.example.com"
                )
        return tuple(origins)

    @model_validator(mode="after")
    def _tls_pair(self) -> LocalApiConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: set both (https) or neither")
        return self


class FleetConfig(Section):
    """``[fleet]``: the names this till goes by on a fleet's dashboard and in its alerts.

    Exported as the labels of ``register_agent_info{shop, till, version}`` (monitoring/),
    which the fleet's rules join onto every alert: labels an operator sets once per till
    rather than in each Prometheus scrape job.
    """

    #: the shop, e.g. "Utrecht Centrum"; "" leaves it empty in the alerts
    shop: str = ""
    #: the till within the shop, e.g. "till-1"; "" means this machine's host name
    till: str = ""

    @field_validator("shop", "till")
    @classmethod
    def _label_value(cls, value: str) -> str:
        # a label value: no quotes, backslashes or control characters, which would need
        # escaping in every query an operator types; short enough for a dashboard's legend
        if len(value) > 64 or any(c in '"\\' or not c.isprintable() for c in value):
            raise ValueError(
                "must be at most 64 printable characters without quotes or backslashes, "
                'e.g. "Utrecht Centrum" or "till-1"'
            )
        return value.strip()


class LoggingConfig(Section):
    """``[logging]``: how log lines look (secrets and full card values never appear)."""

    #: "auto": the journal's own fields when the output is journald's ($JOURNAL_STREAM),
    #: text otherwise; "journal": the journal's fields always (its socket missing: text)
    format: Literal["auto", "json", "text", "journal"] = "auto"
    #: "debug" shows every step (``register-agent -v`` does the same for one run)
    level: Literal["debug", "info", "warning", "error"] = "info"


class ProcessConfig(Section):
    """``[process]``: where the agent runs on the till's processors (read at start)."""

    #: "one": all the agent's threads on one CPU, the one it started on (a Python process
    #: hands its lock between its threads at every journal commit and read; across cores
    #: each hand-over waits for the other core to wake: runtime/cpu.py); "all": wherever
    #: the kernel puts them; a number: that CPU
    cpu: Literal["one", "all"] | Annotated[int, Field(ge=0, le=4095)] = "one"


class NewsletterConfig(Section):
    """``[newsletter]``: what "newsletter" means when a cashier opts a customer in."""

    #: v1: the marketing program whose recipients the customers become
    marketing_program_id: int | None = Field(default=None, ge=1)
    #: v3: the subscription type, by uuid or by name (looked up once)
    subscription_type: str | None = Field(default=None, min_length=1, max_length=100)


class ReceiptConfig(Section):
    """``[receipt]``: what the agent's own receipts say, and in which language."""

    language: Literal["en", "nl"] = "en"
    #: the shop's name first (printed large), then address lines
    header: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()
    #: a picture (PNG, ...) printed at the top of every slip: converted once to the
    #: printer's raster at start (dithered, fitted to the paper) and cached
    logo: Path | None = None
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    #: the customer's custom attributes the receipt prints, name -> label, in this order
    #: (``{firstname = "Name", tier = "Tier"}``); a customer without one prints nothing
    customer_attributes: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")],
        Annotated[str, Field(max_length=40)],
    ] = {}
