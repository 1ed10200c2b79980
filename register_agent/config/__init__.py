"""The agent's configuration: one pydantic-settings root, read once at start (and on reload).

Layers, strongest first: environment variables (``REGISTER_AGENT_API__VERSION=v1``), the
systemd credentials directory (``$CREDENTIALS_DIRECTORY/api-key`` and
``loyalty-token-secret``), the TOML file (``/etc/register-agent/config.toml`` or
``--config PATH``), then the sections' defaults (``agent``, ``devices``). Every section
forbids unknown keys, so a typo stops start-up with ``section.field`` named. Drivers get
their section object and never read files or the environment themselves.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from register_agent.config.agent import (
    ApiConfig,
    FleetConfig,
    LocalApiConfig,
    LoggingConfig,
    NewsletterConfig,
    OutboxConfig,
    ProcessConfig,
    ReceiptConfig,
    StateConfig,
    TillConfig,
)
from register_agent.config.devices import (
    STANDARD_BAUD_RATES,
    CanonicalUid,
    FilePrinterConfig,
    KeyboardReaderConfig,
    NetworkPrinterConfig,
    PcscReaderConfig,
    PrinterConfig,
    ReaderConfig,
    ScansConfig,
    SerialPrinterConfig,
    SerialReaderConfig,
    UidFormat,
    UsbPrinterConfig,
    VirtualPrinterConfig,
    VirtualReaderConfig,
    default_runtime_dir,
)
from register_agent.config.passthrough import PassthroughConfig, ReceiptTemplate
from register_agent.config.sections import Section
from register_agent.errors import ConfigError

#: the sections live in ``agent`` and ``devices``; every name stays importable from here
__all__ = [
    "STANDARD_BAUD_RATES",
    "AgentConfig",
    "ApiConfig",
    "CanonicalUid",
    "FilePrinterConfig",
    "FleetConfig",
    "KeyboardReaderConfig",
    "LocalApiConfig",
    "LoggingConfig",
    "NetworkPrinterConfig",
    "NewsletterConfig",
    "OutboxConfig",
    "PassthroughConfig",
    "PcscReaderConfig",
    "PrinterConfig",
    "ProcessConfig",
    "ReaderConfig",
    "ReceiptConfig",
    "ReceiptTemplate",
    "ScansConfig",
    "Section",
    "SerialPrinterConfig",
    "SerialReaderConfig",
    "StateConfig",
    "TillConfig",
    "UidFormat",
    "UsbPrinterConfig",
    "VirtualPrinterConfig",
    "VirtualReaderConfig",
    "default_runtime_dir",
    "describe_validation_error",
    "load_config",
]

DEFAULT_CONFIG_PATH = Path("/etc/register-agent/config.toml")
ENV_PREFIX = "REGISTER_AGENT_"

#: credential file name (systemd ``LoadCredential=``) -> (section, field)
CREDENTIAL_FILES: dict[str, tuple[str, str]] = {
    "api-key": ("api", "api_key"),
    "personal-access-token": ("api", "personal_access_token"),
    "loyalty-token-secret": ("api", "loyalty_token_secret"),
    "local-api-token": ("local_api", "token"),
    "counter-pin": ("local_api", "counter_pin"),
}

_toml_path: ContextVar[Path | None] = ContextVar("register_agent_config_path", default=None)
_credentials_dir: ContextVar[Path | None] = ContextVar("register_agent_credentials", default=None)


class _TomlFile(TomlConfigSettingsSource):
    """pydantic-settings' own TOML source, handing on the file's tables as they are spelt.

    Its base matches top-level names case-blind, as for keyword arguments: ``[API]`` would
    pass for ``[api]``, or vanish without a word beside it, while keys inside a section stay
    case-sensitive. As written, ``[API]`` is an unknown key like any other.
    """

    def __call__(self) -> dict[str, Any]:
        return self.toml_data


def _toml_file_source(settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource:
    """The TOML source on the file named for this load (an absent file gives no values).

    The source reads the file as it is built, so a broken or unreadable file is reported
    here, as the installer's message rather than a traceback.
    """
    path = _toml_path.get()
    try:
        return _TomlFile(settings_cls, toml_file=path)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file and start again") from exc
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
    fleet: FleetConfig = FleetConfig()
    process: ProcessConfig = ProcessConfig()
    #: off by default: the till prints to the agent, which relays to [printer]
    passthrough: PassthroughConfig = PassthroughConfig()

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
            _toml_file_source(settings_cls),
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
