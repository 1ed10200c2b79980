"""The one exception tree of the agent; every failure the agent reports is one of these.

Library exceptions (httpx, sqlite3, pyserial, escpos, pydantic) are translated at the
boundary where they occur and chained with ``from``. Every message says what happened
and what to do, and never carries a secret (API key, token secret) or a full card value.

::

    RegisterAgentError
    ├── ConfigError                 the config file, environment or credentials are wrong
    ├── DeviceError                 a piece of hardware failed; only that device stops
    │   ├── ReaderError             a card reader (serial, keyboard wedge, NFC)
    │   └── PrinterError            the receipt printer
    ├── JournalError                the SQLite journal cannot be used safely
    │   ├── JournalUnavailable      it takes no writes now: the disk is full (passes
    │   │                           when space is freed) or the file is damaged
    │   └── JournalNeedsDecision    lost, damaged or not this till's: a person runs
    │                               `register-agent journal recover` or `reset`
    ├── CounterRefusal              the till refuses a POS request (a stable code and a
    │                               sentence the cashier can read: offline, conflict, ...)
    ├── AgentUnreachable            a command (status, demo) cannot reach the running
    │                               agent's local API: it is not running, or elsewhere
    └── LoyaltyApiError             a Register API call did not succeed
        ├── NotApplied              nothing took effect; safe to send again later
        │                           (connection refused, DNS, 429, 503, ...)
        ├── OutcomeUnknown          the request may have taken effect (timeout after
        │                           sending, reset, 500/502/504, 60001): reconcile first
        ├── AlreadyApplied          the server says this was done before (6001 on our
        │                           own POS transaction): treat as done
        └── Rejected                final: the server refused the request
            ├── CredentialsRejected 401/403: the API key is wrong or revoked
            └── RequestRejected     a 400 with an error code (1017, 1013, ...)
                └── PosTransactionGone  1027: the POS transaction a credit reception
                                        named does not exist (any more)

``NotApplied``, ``OutcomeUnknown``, ``AlreadyApplied`` and ``Rejected`` are exactly the
outcomes of the failure table in docs/architecture.md ("When something fails"): the client
reports one, the outbox decides what happens next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class RegisterAgentError(Exception):
    """Base of every error the agent raises on purpose."""


class ConfigError(RegisterAgentError):
    """The configuration cannot be used; the message names ``section.field`` and the fix."""


class DeviceError(RegisterAgentError):
    """A device failed. The device disables itself; the rest of the agent keeps working."""

    def __init__(self, message: str, *, device: str = "") -> None:
        super().__init__(message)
        self.device = device


class ReaderError(DeviceError):
    """A card reader cannot be opened or read."""


class PrinterError(DeviceError):
    """The receipt printer cannot print now (offline, paper out, cover open, silent)."""


class JournalError(RegisterAgentError):
    """The journal cannot guarantee durability (pragmas refused, disk full, I/O error)."""


class JournalUnavailable(JournalError):
    """The journal takes no writes now; nothing of the refused transaction was kept.

    ``kind`` is ``"disk_full"`` (the next write is tried again and succeeds once space is
    freed) or ``"damaged"`` (corruption or an I/O error of the storage: no write is tried
    again until an operator has acted and the agent restarted).
    """

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class JournalNeedsDecision(JournalError):
    """The journal is missing, empty, damaged, another till's or behind what this till
    knows it held: the agent must not start on it until a person decides (recover or
    reset). The process exits with ``EXIT_CODE``, which the systemd unit does not restart
    (``RestartPreventExitStatus=``): a restart could not change the answer."""

    EXIT_CODE = 78  # EX_CONFIG: fixing it takes a person


class CounterRefusal(RegisterAgentError):
    """The till refuses what the POS asked; the local API answers ``status`` with ``code``.

    ``code`` is stable (the POS software may switch on it); the message is for the cashier.
    """

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    @classmethod
    def key_refused(cls) -> CounterRefusal:
        """The answer of every counter action while the Register API refuses the key."""
        return cls(
            "key_refused",
            "the loyalty service refuses this till's API key: ask the installer",
            status=503,
        )


class AgentUnreachable(RegisterAgentError):
    """The running agent's local API does not answer a command (``register-agent status``)."""


class LoyaltyApiError(RegisterAgentError):
    """A Register API call did not succeed.

    ``status`` is the HTTP status (0 when no response arrived), ``code`` the API's own
    error code when it gave one (``None`` otherwise).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class NotApplied(LoyaltyApiError):
    """Nothing took effect on the server. ``retry_after`` (seconds) when the server named one."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class OutcomeUnknown(LoyaltyApiError):
    """The request may have taken effect: it must be reconciled before it is sent again."""


class AlreadyApplied(LoyaltyApiError):
    """The server reports that this very operation was applied before."""


class Rejected(LoyaltyApiError):
    """The server refused the request; sending it again unchanged cannot succeed."""


class CredentialsRejected(Rejected):
    """401/403: the API key is missing, wrong, expired or revoked."""


class RequestRejected(Rejected):
    """A 400 with an error code; ``field_errors`` maps a request field to its messages."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        code: int | None = None,
        field_errors: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.field_errors: dict[str, list[str]] = {
            field: list(messages) for field, messages in (field_errors or {}).items()
        }


class PosTransactionGone(RequestRejected):
    """1027 on a credit reception: the POS transaction it named does not exist (any more).
    This request was not applied; whether an earlier one with the same POS transaction was
    is the outbox handler's question (``outbox/handlers.py``)."""
