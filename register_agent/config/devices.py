"""The sections of the till's devices: ``[printer]`` (one of five kinds), ``[scans]`` and
``[[readers]]``; drivers get these objects and never read files or the environment.
"""

# ruff: noqa: RUF012 (mutable defaults of pydantic fields: pydantic copies them)

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from register_agent.config.sections import Section

# --- printer -----------------------------------------------------------------------------


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
    #: a folder where each receipt it prints is written as text (``run --sandbox`` sets
    #: ``<state directory>/receipts``); None: only the bytes are kept
    receipts_dir: Path | None = None


PrinterConfig = Annotated[
    NetworkPrinterConfig
    | SerialPrinterConfig
    | UsbPrinterConfig
    | FilePrinterConfig
    | VirtualPrinterConfig,
    Field(discriminator="kind"),
]


# --- scans and readers -------------------------------------------------------------------


def _compiles(pattern: str, what: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{what} {pattern!r} is not a valid regular expression: {exc}") from None
    return pattern


#: how a reader sends a card's UID (readers/uid_forms.py describes each form)
UidFormat = Literal["hex", "hex_reversed", "decimal", "wiegand26", "wiegand34"]
#: the form the shop's loyalty accounts hold the cards in
CanonicalUid = Literal["hex", "hex_reversed", "decimal"]


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
    #: the form every reader's UIDs are turned into: the one the loyalty accounts hold
    canonical_uid: CanonicalUid = "hex"
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
    #: how this reader sends a card's UID; turned into [scans] canonical_uid
    uid_format: UidFormat = "hex"


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


class PcscReaderConfig(_ReaderBase):
    """``[[readers]] kind = "pcsc"``: a contactless reader (ACR122U and the like) through the
    system's pcscd; the UID comes from the card itself (GET DATA), in hex."""

    kind: Literal["pcsc"]
    #: the reader's PC/SC name or a part of it (``register-agent doctor`` lists the names)
    reader: str = Field(min_length=1)
    #: a card away for less than this is still the same presentation (a card at the edge
    #: of the field comes and goes); the [scans] debounce applies after it
    debounce_s: float = Field(default=0.3, ge=0, le=10)

    @field_validator("uid_format")
    @classmethod
    def _reads_hex(cls, value: str) -> str:
        if value != "hex":
            raise ValueError(
                "a PC/SC reader gives the UID as the card does, in hex: leave uid_format out "
                "(set [scans] canonical_uid for the form the loyalty accounts hold)"
            )
        return value


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
    SerialReaderConfig | KeyboardReaderConfig | PcscReaderConfig | VirtualReaderConfig,
    Field(discriminator="kind"),
]
