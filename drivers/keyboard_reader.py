"""Keyboard-wedge (USB HID) scanners read through evdev, grabbed so the POS never sees the keys.

The decoder (key events to text, with shift, Enter ends a scan) is pure and tested with
synthetic events; the device part needs Linux and ``/dev/input``. evdev is imported only
when a keyboard reader opens, so tills without one need not install it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from register_agent.config import KeyboardReaderConfig
from register_agent.errors import ReaderError
from register_agent.readers.reader import MAX_RAW_SCAN_BYTES, DeviceStatus, RawScan

log = logging.getLogger(__name__)

# Linux input event codes (include/uapi/linux/input-event-codes.h; a stable kernel ABI,
# checked against evdev.ecodes in the tests).
EV_KEY = 1
KEY_DOWN = 1
_ENTER = frozenset({28, 96})  # KEY_ENTER, KEY_KPENTER
_SHIFT = frozenset({42, 54})  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
# A key that is no character (Ctrl, F1, Tab, ...) becomes SUB, a control character the
# scan pipeline rejects: a scan with a key we cannot read is not a scan we can trust.
UNKNOWN_KEY = "\x1a"


def _row(first_code: int, plain: str, shifted: str) -> dict[int, tuple[str, str]]:
    return {first_code + i: (p, s) for i, (p, s) in enumerate(zip(plain, shifted, strict=True))}


#: US layout, which is what scanners emulate unless told otherwise: code -> (plain, shifted)
KEYMAP: dict[int, tuple[str, str]] = {
    **_row(2, "1234567890-=", "!@#$%^&*()_+"),
    **_row(16, "qwertyuiop[]", "QWERTYUIOP{}"),
    **_row(30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    **_row(43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
    57: (" ", " "),
    **{code: (char, char) for code, char in zip((71, 72, 73, 74), "789-", strict=True)},
    **{code: (char, char) for code, char in zip((75, 76, 77, 78), "456+", strict=True)},
    **{code: (char, char) for code, char in zip((79, 80, 81, 82, 83), "1230.", strict=True)},
    55: ("*", "*"),
    98: ("/", "/"),
}


class KeyEvent(Protocol):
    """What the decoder needs of an ``evdev.InputEvent``."""

    type: int
    code: int
    value: int


class KeyDecoder:
    """Turns key events into scans, one at a time: ``feed`` returns a scan at Enter."""

    def __init__(self) -> None:
        self._shift: set[int] = set()
        self._text: list[str] = []

    def feed(self, event: KeyEvent) -> str | None:
        if event.type != EV_KEY:
            return None
        if event.code in _SHIFT:
            # value 1 = down, 0 = up, 2 = autorepeat (still down)
            (self._shift.add if event.value else self._shift.discard)(event.code)
            return None
        if event.value != KEY_DOWN:
            return None
        if event.code in _ENTER:
            text, self._text = "".join(self._text), []
            return text or None
        if len(self._text) <= MAX_RAW_SCAN_BYTES:  # the pipeline rejects it as too long
            plain, shifted = KEYMAP.get(event.code, (UNKNOWN_KEY, UNKNOWN_KEY))
            self._text.append(shifted if self._shift else plain)
        return None


def decode(events: Iterable[KeyEvent]) -> list[str]:
    """Every complete scan in a stream of key events (text after the last Enter is pending)."""
    decoder = KeyDecoder()
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
            self._device = _open_device(self._config)
        except (OSError, ImportError) as exc:
            detail = f"{self._config.device}: {exc}; {_fix(exc)}"
            self._status = DeviceStatus(self.name, "down", detail)
            raise ReaderError(
                f"reader {self.name}: cannot open {detail}", device=self.name
            ) from exc
        self._status = DeviceStatus(self.name, "ok")

    async def __aiter__(self) -> AsyncIterator[RawScan]:
        decoder = KeyDecoder()
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
        return "install the keyboard extra: pip install 'register-agent[keyboard]'"
    if isinstance(exc, PermissionError):
        return "add the agent's user to the input group"
    return "plug the scanner in, or correct the device path in the config"
