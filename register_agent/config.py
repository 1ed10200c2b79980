"""The agent's configuration: one pydantic-settings root, read once at start (and on reload).

Layers, strongest first: environment variables (``REGISTER_AGENT_API__VERSION=v1``), the
systemd credentials directory (``$CREDENTIALS_DIRECTORY/api-key`` and
``loyalty-token-secret``), the TOML file (``/etc/register-agent/config.toml`` or
``--config PATH``), then the defaults below. Every section forbids unknown keys, so a
typo stops start-up with ``section.field`` named. Drivers get their section object and
never read files or the environment themselves.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from register_agent.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("/etc/register-agent/config.toml")
ENV_PREFIX = "REGISTER_AGENT_"

#: credential file name (systemd ``LoadCredential=``) -> (section, field)
CREDENTIAL_FILES: dict[str, tuple[str, str]] = {
    "api-key": ("api", "api_key"),
    "loyalty-token-secret": ("api", "loyalty_token_secret"),
    "local-api-token": ("local_api", "token"),
}


class Section(BaseModel):
    """A config section: unknown keys are errors, values are frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiConfig(Section):
    """``[api]``: which Register API to talk to, and how patiently."""

    version: Literal["v1", "v3"] = "v3"
    base_url: str = "https://api.piggy.eu"
    api_key: SecretStr | None = None
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


# --- printer and receipt (issue 3) -------------------------------------------------------


class _PrinterCommon(Section):
    """Keys every ``[printer]`` kind shares: the model, the paper and the patience."""

    #: python-escpos capabilities profile of the printer model (features, code pages, dots)
    profile: str = "TM-T20II"
    paper_width_mm: Literal[58, 80] = 80
    #: characters per line; None: 32 on 58 mm, 42 on 80 mm (fits every 80 mm printer)
    columns: int | None = Field(default=None, ge=16, le=64)
    #: the one code page text is sent in; it must hold the euro sign (CP858, CP1252, ...)
    code_page: Literal["CP858", "CP1252", "ISO_8859-15"] = "CP858"
    status_timeout_s: float = Field(default=1.0, gt=0, le=10)
    #: where python-escpos caches its parsed capabilities; None: $CACHE_DIRECTORY or XDG
    capabilities_cache_dir: Path | None = None

    @property
    def line_width(self) -> int:
        """Characters per line of this printer's paper."""
        if self.columns is not None:
            return self.columns
        return 32 if self.paper_width_mm == 58 else 42


class NetworkPrinterConfig(_PrinterCommon):
    """``kind = "network"``: raw TCP (port 9100), the usual Ethernet receipt printer."""

    kind: Literal["network"]
    host: str = Field(min_length=1)
    port: int = Field(default=9100, ge=1, le=65535)
    timeout_s: float = Field(default=2.0, gt=0, le=30)


class SerialPrinterConfig(_PrinterCommon):
    """``kind = "serial"``: an RS-232 or USB-serial printer."""

    kind: Literal["serial"]
    port: str = Field(min_length=1)
    baudrate: int = Field(default=38400, gt=0)
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    flow_control: Literal["none", "rtscts", "xonxoff"] = "rtscts"
    timeout_s: float = Field(default=2.0, gt=0, le=30)


class UsbPrinterConfig(_PrinterCommon):
    """``kind = "usb"``: a USB printer claimed through libusb (vendor and product id).

    No ``interface`` key: python-escpos 3.1 always claims interface 0 and offers no way to
    choose another; the endpoints pick the data pipes.
    """

    kind: Literal["usb"]
    vendor_id: int = Field(ge=0, le=0xFFFF)
    product_id: int = Field(ge=0, le=0xFFFF)
    in_endpoint: int = Field(default=0x82, ge=0, le=0xFF)
    out_endpoint: int = Field(default=0x01, ge=0, le=0xFF)
    timeout_s: float = Field(default=2.0, gt=0, le=30)


class FilePrinterConfig(_PrinterCommon):
    """``kind = "file"``: each job written to a file or device node (``/dev/usb/lp0``)."""

    kind: Literal["file"]
    path: Path


class VirtualPrinterConfig(_PrinterCommon):
    """``kind = "virtual"``: the built-in loopback TCP printer of the demo and the tests."""

    kind: Literal["virtual"]
    host: Literal["127.0.0.1", "::1", "localhost"] = "127.0.0.1"
    #: 0 picks a free port
    port: int = Field(default=0, ge=0, le=65535)
    timeout_s: float = Field(default=2.0, gt=0, le=30)
    #: a loopback port taking line commands (``state paper_out``) for the demo; None: none
    control_port: int | None = Field(default=None, ge=0, le=65535)


PrinterConfig = Annotated[
    NetworkPrinterConfig
    | SerialPrinterConfig
    | UsbPrinterConfig
    | FilePrinterConfig
    | VirtualPrinterConfig,
    Field(discriminator="kind"),
]


# --- scans and readers (issue 3) ---------------------------------------------------------


def _compiles(pattern: str, what: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{what} {pattern!r} is not a valid regular expression: {exc}") from None
    return pattern


class ScansConfig(Section):
    """``[scans]``: what a scanned value must look like, and what counts as a loyalty card."""

    min_length: int = Field(default=4, ge=1, le=256)
    max_length: int = Field(default=64, ge=1, le=256)
    # The body of a regex character class; control characters never pass whatever it says.
    allowed_characters: str = "A-Za-z0-9_-"
    prefix: str = ""
    suffix: str = ""
    debounce_s: float = Field(default=2.0, ge=0, le=60)
    debounce_plain_scans: bool = False
    normalise_nfc_uids: bool = True
    nfc_uid_bytes: list[int] = Field(default=[4, 7, 10], max_length=8)
    loyalty_patterns: list[str] = [
        "[0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20}",
        "[A-Za-z0-9_-]{6,64}",
    ]
    plain_gtin_lengths: list[Literal[8, 12, 13, 14]] = [12, 13]
    # Scanned values matching one of these (whole value) are giftcards: their balance goes
    # to the POS as a "giftcard" event. Empty: no scan is taken for a giftcard.
    giftcard_patterns: list[str] = []

    @field_validator("allowed_characters")
    @classmethod
    def _character_class(cls, value: str) -> str:
        if not value or "]" in value.replace("\\]", ""):
            raise ValueError("must be the inside of a character class, e.g. 'A-Za-z0-9_-'")
        _compiles(f"[{value}]", "character class")
        return value

    @field_validator("loyalty_patterns", "giftcard_patterns")
    @classmethod
    def _patterns(cls, patterns: list[str]) -> list[str]:
        return [_compiles(pattern, "pattern") for pattern in patterns]

    @field_validator("nfc_uid_bytes")
    @classmethod
    def _uid_sizes(cls, sizes: list[int]) -> list[int]:
        if any(not 1 <= size <= 32 for size in sizes):
            raise ValueError("UID sizes are bytes between 1 and 32 (MIFARE: 4, 7 or 10)")
        return sizes

    @model_validator(mode="after")
    def _lengths(self) -> ScansConfig:
        if self.min_length > self.max_length:
            raise ValueError("min_length must not be greater than max_length")
        return self


class _ReaderBase(Section):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    # Stripped from this reader's scans when present; unset means [scans] prefix / suffix.
    prefix: str | None = None
    suffix: str | None = None


#: Rates real scanners offer; anything else is a typo that a pty would silently accept.
STANDARD_BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800)


class SerialReaderConfig(_ReaderBase):
    """``[[readers]] kind = "serial"``: a barcode or NFC reader on a serial / USB-CDC port."""

    kind: Literal["serial"]
    port: str = Field(min_length=1)
    baudrate: int = 9600
    parity: Literal["none", "even", "odd", "mark", "space"] = "none"
    bytesize: Literal[5, 6, 7, 8] = 8
    stopbits: float = 1
    terminator: Literal["auto", "none"] = "auto"
    inter_char_timeout_s: float = Field(default=0.2, gt=0, le=5)
    exclusive: bool = True

    @field_validator("baudrate")
    @classmethod
    def _standard_rate(cls, value: int) -> int:
        if value not in STANDARD_BAUD_RATES:
            rates = ", ".join(str(rate) for rate in STANDARD_BAUD_RATES)
            raise ValueError(f"{value} is not a standard baud rate; use one of {rates}")
        return value

    @field_validator("stopbits")
    @classmethod
    def _stopbits(cls, value: float) -> float:
        if value not in (1, 1.5, 2):
            raise ValueError("must be 1, 1.5 or 2")
        return value


class KeyboardReaderConfig(_ReaderBase):
    """``[[readers]] kind = "keyboard"``: a keyboard-wedge (HID) scanner read through evdev."""

    kind: Literal["keyboard"]
    device: Path
    grab: bool = True


def default_runtime_dir() -> Path:
    """Where virtual devices put their sockets: systemd's ``RuntimeDirectory=`` when the
    service has one, else ``$XDG_RUNTIME_DIR/register-agent``."""
    if os.environ.get("RUNTIME_DIRECTORY"):
        return Path(os.environ["RUNTIME_DIRECTORY"].split(":")[0])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "register-agent"
    # A per-user name; the virtual reader refuses a directory it does not own.
    return Path(tempfile.gettempdir()) / f"register-agent-{os.getuid()}"


class VirtualReaderConfig(_ReaderBase):
    """``[[readers]] kind = "virtual"``: a pseudo-terminal reader for the demo and tests."""

    kind: Literal["virtual"]
    # Unix socket that `register-agent scan VALUE` writes to; the pty link is beside it.
    inject_socket: Path | None = None

    @property
    def socket_path(self) -> Path:
        return self.inject_socket or default_runtime_dir() / f"{self.name}.sock"


ReaderConfig = Annotated[
    SerialReaderConfig | KeyboardReaderConfig | VirtualReaderConfig,
    Field(discriminator="kind"),
]


class ReceiptConfig(Section):
    """``[receipt]``: what the agent's own receipts say, and in which language."""

    language: Literal["en", "nl"] = "en"
    #: the shop's name first (printed large), then address lines
    header: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    #: the customer's custom attributes the receipt prints, name -> label, in this order
    #: (``{firstname = "Name", tier = "Tier"}``); a customer without one prints nothing
    customer_attributes: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")],
        Annotated[str, Field(max_length=40)],
    ] = {}


_toml_path: ContextVar[Path | None] = ContextVar("register_agent_config_path", default=None)
_credentials_dir: ContextVar[Path | None] = ContextVar("register_agent_credentials", default=None)


class _TomlFileSource(PydanticBaseSettingsSource):
    """The TOML file named for this load (absent file = no values)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole file

    def __call__(self) -> dict[str, Any]:
        path = _toml_path.get()
        if path is None or not path.exists():
            return {}
        try:
            with path.open("rb") as handle:
                return tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{path}: not valid TOML ({exc}); fix the file and start again"
            ) from exc
        except OSError as exc:
            raise ConfigError(
                f"{path}: cannot be read ({exc.strerror}); check its permissions"
            ) from exc


class _CredentialsSource(PydanticBaseSettingsSource):
    """systemd credentials: one file per secret in ``$CREDENTIALS_DIRECTORY``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns every credential found

    def __call__(self) -> dict[str, Any]:
        directory = _credentials_dir.get()
        values: dict[str, dict[str, str]] = {}
        if directory is None:
            return values
        for file_name, (section, field) in CREDENTIAL_FILES.items():
            path = directory / file_name
            if path.is_file():
                secret = path.read_text(encoding="utf-8").strip()
                if secret:
                    values.setdefault(section, {})[field] = secret
        return values


# --- the agent: state, till, outbox, local API (issue 4) ---------------------------------


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


class OutboxConfig(Section):
    """``[outbox]``: delivery to the Register API, and the store-and-forward caps."""

    #: customers served in parallel (one customer's operations always go in order)
    concurrency: int = Field(default=4, ge=1, le=32)
    backoff_base_s: float = Field(default=2.0, gt=0, le=60)
    backoff_max_s: float = Field(default=300.0, gt=0, le=3600)
    #: wait before reconciling an operation whose outcome is unknown
    unknown_delay_s: float = Field(default=5.0, ge=0, le=600)
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


class LoggingConfig(Section):
    """``[logging]``: how log lines look (secrets and full card values never appear)."""

    #: "auto": JSON lines when the output is journald's ($JOURNAL_STREAM), text otherwise
    format: Literal["auto", "json", "text"] = "auto"
    #: "debug" shows every step (``register-agent -v`` does the same for one run)
    level: Literal["debug", "info", "warning", "error"] = "info"


class NewsletterConfig(Section):
    """``[newsletter]``: what "newsletter" means when a cashier opts a customer in."""

    #: v1: the marketing program whose recipients the customers become
    marketing_program_id: int | None = Field(default=None, ge=1)
    #: v3: the subscription type, by uuid or by name (looked up once)
    subscription_type: str | None = Field(default=None, min_length=1, max_length=100)


class AgentConfig(BaseSettings):
    """The root of the configuration; one attribute per TOML section."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    api: ApiConfig = ApiConfig()
    state: StateConfig = StateConfig()
    till: TillConfig = TillConfig()
    outbox: OutboxConfig = OutboxConfig()
    local_api: LocalApiConfig = LocalApiConfig()
    #: no [printer] section: the agent prints nothing (the POS prints the loyalty block)
    printer: PrinterConfig | None = None
    receipt: ReceiptConfig = ReceiptConfig()
    scans: ScansConfig = ScansConfig()
    readers: list[ReaderConfig] = []
    logging: LoggingConfig = LoggingConfig()
    newsletter: NewsletterConfig = NewsletterConfig()

    @field_validator("readers")
    @classmethod
    def _unique_reader_names(cls, readers: list[ReaderConfig]) -> list[ReaderConfig]:
        names = [reader.name for reader in readers]
        doubles = sorted({name for name in names if names.count(name) > 1})
        if doubles:
            raise ValueError(f"reader names must be unique; {', '.join(doubles)} used twice")
        return readers

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _CredentialsSource(settings_cls),
            _TomlFileSource(settings_cls),
        )


def load_config(path: Path | None = None, *, credentials_dir: Path | None = None) -> AgentConfig:
    """Read the configuration once; raise ``ConfigError`` naming every bad ``section.field``.

    ``path`` None means the default file, which may be absent (defaults then apply); a path
    given explicitly must exist. ``credentials_dir`` defaults to ``$CREDENTIALS_DIRECTORY``.
    """
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass an existing file to --config")
    if credentials_dir is None and os.environ.get("CREDENTIALS_DIRECTORY"):
        credentials_dir = Path(os.environ["CREDENTIALS_DIRECTORY"])
    file_token = _toml_path.set(path or DEFAULT_CONFIG_PATH)
    creds_token = _credentials_dir.set(credentials_dir)
    try:
        return AgentConfig()
    except ValidationError as exc:
        source = path or DEFAULT_CONFIG_PATH
        raise ConfigError(describe_validation_error(exc, source)) from None
    finally:
        _toml_path.reset(file_token)
        _credentials_dir.reset(creds_token)


def describe_validation_error(exc: ValidationError, source: Path) -> str:
    """One line per problem, ``section.field: message``; never the offending value itself.

    The input value is left out on purpose: it may be an API key in the wrong place.
    """
    lines = [f"the configuration is not valid ({source} and REGISTER_AGENT_* variables):"]
    for error in exc.errors(include_input=False, include_url=False):
        dotted = ".".join(str(part) for part in error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key" + _did_you_mean(error["loc"])
        lines.append(f"  {dotted}: {message}")
    return "\n".join(lines)


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    """A hint for a misspelt key, from the names that section does know."""
    model = _model_at(loc[:-1])
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f"; did you mean '{close[0]}'?" if close else "; see config/register-agent.example.toml"


def _model_at(path: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The section model at ``path``, through lists (``readers.0``) and ``kind`` unions."""
    models: list[type[BaseModel]] = [AgentConfig]
    for part in path:
        if isinstance(part, int):
            continue
        if len(models) > 1:  # a discriminated union: the error names the member's tag
            models = [model for model in models if _kind_of(model) == part]
        else:
            field = models[0].model_fields.get(part)
            models = _models_in(field.annotation) if field else []
        if not models:
            return None
    return models[0] if len(models) == 1 else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _kind_of(model: type[BaseModel]) -> object:
    field = model.model_fields.get("kind")
    tags = get_args(field.annotation) if field else ()
    return tags[0] if len(tags) == 1 else None
