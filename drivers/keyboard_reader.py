"""Keyboard-wedge (USB HID) scanners read through evdev, grabbed so the POS never sees the keys.

The decoder (key events to text through the reader's XKB keyboard layout, Enter ends a
scan) is pure and tested with synthetic events; the device part needs Linux and
``/dev/input``. evdev and xkbcommon are imported only when a keyboard reader opens, so tills
without one need not install them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

from register_agent.config import KeyboardReaderConfig
from register_agent.config.xkb_names import HOW_TO_LIST
from register_agent.errors import ReaderError
from register_agent.readers.reader import MAX_RAW_SCAN_BYTES, DeviceStatus, RawScan

log = logging.getLogger(__name__)

# Linux input event codes (include/uapi/linux/input-event-codes.h; a stable kernel ABI,
# checked against evdev.ecodes in the tests).
EV_KEY = 1
KEY_UP, KEY_DOWN = 0, 1  # and 2: autorepeat, the key still held
_ENTER = frozenset({28, 96})  # KEY_ENTER, KEY_KPENTER
#: XKB numbers keys as the kernel does plus 8 (the X11 protocol reserved 0 to 7)
XKB_OFFSET = 8
# A key that is no character (Ctrl, F1, Tab, a dead key, ...) becomes SUB, a control
# character the scan pipeline rejects: a scan with a key we cannot read is not a scan we
# can trust.
UNKNOWN_KEY = "\x1a"


@cache
def compile_keymap(layout: str = "us", variant: str = "") -> Any:
    """The XKB keymap of ``layout`` (and ``variant``), compiled once per process from the
    system's xkb-data, so every country's layout is the one its desktop uses."""
    try:
        from xkbcommon import xkb  # noqa: PLC0415 (keyboard extra, loaded for a keyboard reader)
    except ImportError as exc:
        raise ReaderError(
            f"keyboard layout {layout!r}: {exc}; {_fix(exc)}", device="keyboard"
        ) from exc
    try:
        return xkb.Context().keymap_new_from_names(layout=layout, variant=variant or None)
    except xkb.XKBKeymapCreationFailure as exc:
        raise ReaderError(
            f"keyboard layout {layout!r} variant {variant!r} does not compile: {exc}; "
            f"install the xkb-data package if it is missing, else {HOW_TO_LIST}",
            device="keyboard",
        ) from exc


class KeyEvent(Protocol):
    """What the decoder needs of an ``evdev.InputEvent``."""

    type: int
    code: int
    value: int


class KeyDecoder:
    """Turns key events into scans, one at a time: ``feed`` returns a scan at Enter.

    The keys go through xkbcommon's state machine for the reader's layout: Shift, AltGr
    and Caps Lock change the state, and each other key down is the character the state
    gives it (on a Belgian layout the key marked 1 is ``&``, shifted ``1``).
    """

    def __init__(self, layout: str = "us", variant: str = "") -> None:
        from xkbcommon import xkb  # noqa: PLC0415 (compile_keymap has checked it is there)

        keymap = compile_keymap(layout, variant)
        self._down, self._up = xkb.XKB_KEY_DOWN, xkb.XKB_KEY_UP
        self._state = keymap.state_new()
        # Num Lock on: a scanner that types on the keypad types digits, as a till's keyboard
        # does (off, the keypad's keys are arrows and Home/End).
        self._state.update_mask(0, 0, 1 << keymap.mod_get_index("NumLock"), 0, 0, 0)
        self._text: list[str] = []

    def feed(self, event: KeyEvent) -> str | None:
        if event.type != EV_KEY:
            return None
        code = event.code + XKB_OFFSET
        if event.value == KEY_UP:
            self._state.update_key(code, self._up)
            return None
        if event.value != KEY_DOWN:
            return None
        if event.code in _ENTER:
            text, self._text = "".join(self._text), []
            return text or None
        char = self._state.key_get_string(code)  # with the modifiers held before this key
        if self._state.update_key(code, self._down):
            return None  # a modifier (Shift, AltGr, a lock): it changed the state
        if len(self._text) <= MAX_RAW_SCAN_BYTES:  # the pipeline rejects it as too long
            self._text.append(char if char.isprintable() and char else UNKNOWN_KEY)
        return None


def decode(events: Iterable[KeyEvent], layout: str = "us", variant: str = "") -> list[str]:
    """Every complete scan in a stream of key events (text after the last Enter is pending)."""
    decoder = KeyDecoder(layout, variant)
    return [text for event in events if (text := decoder.feed(event)) is not None]


class KeyboardReader:
    """One HID scanner at ``device`` (use ``/dev/input/by-id/...-event-kbd``)."""

    def __init__(self, config: KeyboardReaderConfig, *, max_retry_s: float = 5.0) -> None:
        self._config = config
        self._max_retry_s = max_retry_s
        self._device: Any = None
        self._closed = asyncio.Event()
        self._status = DeviceStatus(config.name, "down", "not opened yet")

    @property
    def name(self) -> str:
        return self._config.name

    def status(self) -> DeviceStatus:
        return self._status

    async def open(self) -> None:
        try:
            compile_keymap(self._config.layout, self._config.variant)
        except ReaderError as exc:
            self._status = DeviceStatus(self.name, "down", str(exc))
            raise
        try:
            self._device = _open_device(self._config)
        except (OSError, ImportError) as exc:
            detail = f"{self._config.device}: {exc}; {_fix(exc)}"
            self._status = DeviceStatus(self.name, "down", detail)
            raise ReaderError(
                f"reader {self.name}: cannot open {detail}", device=self.name
            ) from exc
        self._status = DeviceStatus(self.name, "ok")

    async def __aiter__(self) -> AsyncIterator[RawScan]:
        decoder = KeyDecoder(self._config.layout, self._config.variant)
        while not self._closed.is_set():
            try:
                async for event in self._device.async_read_loop():
                    if (text := decoder.feed(event)) is not None:
                        yield RawScan(text.encode(), self.name, datetime.now(UTC))
            except OSError as exc:
                if self._closed.is_set():
                    break
                await self._reopen(exc)

    async def close(self) -> None:
        self._closed.set()
        device, self._device = self._device, None
        if device is not None:
            device.close()  # also releases the grab
        self._status = DeviceStatus(self.name, "down", "closed")

    async def _reopen(self, cause: OSError) -> None:
        detail = f"{self._config.device} disconnected: {cause}; reopening automatically"
        log.warning("reader %s: %s", self.name, detail)
        self._status = DeviceStatus(self.name, "down", detail)
        with contextlib.suppress(OSError):
            self._device.close()
        delay = 0.2
        while not self._closed.is_set():
            await asyncio.sleep(delay)
            try:
                self._device = _open_device(self._config)
            except OSError:
                delay = min(delay * 2, self._max_retry_s)
                continue
            log.warning("reader %s: %s is back, reading again", self.name, self._config.device)
            self._status = DeviceStatus(self.name, "ok")
            return


def _open_device(config: KeyboardReaderConfig) -> Any:
    import evdev  # noqa: PLC0415 (Linux-only extra, loaded only for a keyboard reader)

    device = evdev.InputDevice(str(config.device))
    if config.grab:
        # Grabbed, the scanner's keystrokes reach only us, never the POS window in focus.
        try:
            device.grab()
        except OSError:
            device.close()  # EBUSY: somebody else grabbed it; do not leak the descriptor
            raise
    return device


def _fix(exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return (
            "install the keyboard extra: pip install 'register-agent[keyboard]' "
            "(xkbcommon needs libxkbcommon; scripts/system-packages.txt)"
        )
    if isinstance(exc, PermissionError):
        return "add the agent's user to the input group"
    return "plug the scanner in, or correct the device path in the config"
