"""The agent's log lines: journal entries with their fields under systemd (``journald``),
readable text on a terminal, JSON lines on request; each naming the sale, operation and
device it concerns.

Secrets never appear: the code logs none, and as a last line of defence every finished
line is searched for the secrets the agent holds (API key, loyalty-token secret, local API
token) and for the card values scanned lately, which are replaced by a mask.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
from collections import OrderedDict
from collections.abc import Awaitable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TextIO, TypeVar

from register_agent.common.journald import JOURNAL_SOCKET, JournalHandler
from register_agent.common.masking import mask
from register_agent.config import AgentConfig

T = TypeVar("T")

LogFormat = Literal["auto", "json", "text", "journal"]
#: what a line may say it concerns; set with ``log_context`` or ``extra=``
CONTEXT_FIELDS = ("sale_id", "operation_id", "device")
SECRET_MASK = "[secret]"  # noqa: S105 (what replaces a secret, not one)
#: secrets shorter than this are not searched for: "1" would mask every digit
MIN_SECRET_LENGTH = 6
#: card values remembered for masking; the oldest are forgotten first
MAX_CARDS = 1000
#: journald reads a "<N>" prefix as the line's priority (SyslogLevelPrefix=, on by default)
_PRIORITY = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}

#: never mutated, only replaced: the empty default is shared safely
_NO_FIELDS: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar(
    "register_agent_log_context", default=_NO_FIELDS
)


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Lines logged inside (in this task and the tasks it starts) name these fields."""
    added = {name: str(value) for name, value in fields.items() if value is not None}
    token = _context.set({**_context.get(), **added})
    try:
        yield
    finally:
        _context.reset(token)


def set_log_fields(**fields: object) -> None:
    """In a context of its own (a task's copy): these fields for everything run in it."""
    added = {name: str(value) for name, value in fields.items() if value is not None}
    _context.set({**_context.get(), **added})


async def in_log_context(work: Awaitable[T], **fields: object) -> T:
    """Await ``work`` with ``fields`` on its lines (for a task or a gathered coroutine)."""
    with log_context(**fields):
        return await work


class _Masks:
    """What must never reach a log line: secrets in full, card values but their tail."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.cards: OrderedDict[str, None] = OrderedDict()

    def apply(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, SECRET_MASK)
        for card in reversed(self.cards):
            if card in text:
                text = text.replace(card, mask(card))
        return text


_masks = _Masks()
_HANDLER_NAME = "register-agent"


def remember_secrets(*secrets: str | None) -> None:
    """Mask these wherever they would appear in a line (keys, tokens; on every reload)."""
    for secret in secrets:
        if secret and len(secret.strip()) >= MIN_SECRET_LENGTH:
            _masks.secrets.add(secret.strip())


def remember_card(value: str) -> None:
    """A scanned card value: shown by its last 4 characters only, should a line hold it."""
    if len(value) > 4:
        _masks.cards[value] = None
        _masks.cards.move_to_end(value)
        while len(_masks.cards) > MAX_CARDS:
            _masks.cards.popitem(last=False)


def secrets_of(config: AgentConfig) -> list[str | None]:
    """The secrets a configuration holds: API key, personal access token, loyalty-token
    secret, local API token, counter PIN."""
    values = [
        config.api.api_key,
        config.api.personal_access_token,
        config.api.loyalty_token_secret,
        config.local_api.token,
        config.local_api.counter_pin,
    ]
    return [value.get_secret_value() if value is not None else None for value in values]


def masked(text: str) -> str:
    return _masks.apply(text)


class _ContextFilter(logging.Filter):
    """Copies the task's log context onto the record (fields given with ``extra=`` win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class _EscposChatter(logging.Filter):
    """python-escpos logs the opening and closing of every printer connection at INFO on
    the root logger: two lines per status check, every 10 s on an idle till. Here they
    count as debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "root" or record.levelno != logging.INFO:
            return True
        if f"{os.sep}escpos{os.sep}" not in record.pathname:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, the context fields, and
    the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": masked(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = masked(str(value))
        if record.exc_info:
            line["exception"] = masked(self.formatException(record.exc_info))
        return masked(json.dumps(line, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """The classic line, with ``[sale=... operation=... device=...]`` when known."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        known = [
            f"{name.removesuffix('_id')}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None) is not None
        ]
        if known:
            first, newline, rest = text.partition("\n")
            text = f"{first} [{' '.join(known)}]{newline}{rest}"
        return masked(text)


class _JournalPriority(logging.Formatter):
    """Prefixes a line with its syslog priority for journald (which strips the prefix)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return f"<{_PRIORITY.get(record.levelname, 6)}>{self._inner.format(record)}"


def writes_to_journal(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``stream`` is journald's: ``$JOURNAL_STREAM`` ("DEV:INODE") names it.

    Compared with the stream itself, because a child of the service inherits the variable
    while its output may go somewhere else (systemd.exec(5), "$JOURNAL_STREAM").
    """
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes: a command run in-process
    (the demo, a test) may swap stderr for a stream it closes afterwards, and a handler that
    kept that stream would fail on every later record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass  # always the current stderr


def configure(
    log_format: LogFormat = "auto",
    level: int = logging.INFO,
    *,
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
    journal_socket: Path = JOURNAL_SOCKET,
) -> None:
    """Route every log line through one handler: the journal's, or stderr.

    ``auto``: under systemd (stderr is the journal's stream, ``$JOURNAL_STREAM``) each record
    goes to journald through its native protocol with its fields (``journald``); otherwise
    text. ``journal``: the native protocol wherever journald's socket is. ``json``: JSON
    lines on stderr. Without the socket, the lines go to stderr (JSON lines under systemd,
    text elsewhere). Logs never go to stdout: a command's own output (``doctor``'s checks,
    the sandbox's banner) stays apart from its logs.
    """
    remember_secrets(*secrets)
    out = stream or sys.stderr
    journal = writes_to_journal(out)
    use_json = log_format == "json" or (log_format == "auto" and journal)
    formatter: logging.Formatter = JsonFormatter() if use_json else TextFormatter()
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _StderrHandler()
    handler.setFormatter(_JournalPriority(formatter) if journal else formatter)
    native = log_format == "journal" or (log_format == "auto" and journal)
    if native and journal_socket.exists():
        handler = JournalHandler(masked, path=journal_socket, fallback=handler)
    for part in (handler, getattr(handler, "fallback", None)):
        if part is not None:
            part.addFilter(_ContextFilter())
            part.addFilter(_EscposChatter())
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == _HANDLER_NAME:  # ours from before; others' (pytest's) stay
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
    # transport detail; hpack's debug lines would hold the Authorization header
    for noisy in ("httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # a line per Register API request (three per sale) is a debugging aid: written and
    # masked at info it cost the outbox's drain a tenth of its time; failures are logged
    # by the agent itself, with their sale and operation
    logging.getLogger("httpx").setLevel(
        logging.DEBUG if level <= logging.DEBUG else logging.WARNING
    )
