"""Contactless readers on PC/SC (the ACR122U class) through pyscard and the system's pcscd.

The reader is watched with ``SCardGetStatusChange`` on a thread of its own, in turns of at
most ``TURN_S`` (the heartbeat's tick, and how soon ``close()`` is heard). A card arriving
is read once by the PC/SC GET DATA APDU (``FF CA 00 00 00``: the UID, in the card's own
byte order) and becomes one ``RawScan`` of its UID in hex; a card left on the reader is
no new scan. pcscd going away (a restart, an upgrade) and the reader unplugged are waited
out: the status says what the driver waits for, and it carries on when it is back.

pyscard is imported only when such a reader opens: tills without one need not install it
(the ``pcsc`` extra).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from register_agent.config import PcscReaderConfig
from register_agent.errors import ReaderError
from register_agent.readers.reader import DeviceStatus, RawScan

log = logging.getLogger(__name__)
T = TypeVar("T")

#: the longest one wait on pcscd lasts
TURN_S = 0.5
#: how long after pcscd comes back the card that lay on the reader is still that card
HELD_S = 5.0
#: PC/SC part 3, GET DATA with P1 = 00: the card's UID (Le 00: all of it)
GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]
START_PCSCD = "install the pcscd package and start it: systemctl enable --now pcscd.socket"


def _scard() -> Any:
    try:
        from smartcard import scard  # noqa: PLC0415 (the pcsc extra, loaded only for this kind)
    except ImportError as exc:
        raise ReaderError(
            f"pyscard is not installed ({exc}); install the agent with its pcsc extra "
            "(pip install 'register-agent[pcsc]') and the system's pcscd"
        ) from exc
    return scard


def matching(names: list[str], wanted: str) -> str | None:
    """The first PC/SC reader whose name contains ``wanted`` (case-blind)."""
    return next((name for name in names if wanted.casefold() in name.casefold()), None)


class PcscReader:
    """One PC/SC reader; iterate it for ``RawScan`` frames until ``close()``."""

    def __init__(self, config: PcscReaderConfig, *, clock: Callable[[], float] = time.monotonic):
        self._config = config
        self._clock = clock
        self._scard: Any = None
        self._context: Any = None
        self._reader: str | None = None  # the matched PC/SC name, while pcscd lists it
        self._state = 0  # the reader's last event state, for the next wait
        self._present = False
        self._last_uid: bytes | None = None
        self._away_since = 0.0
        self._held: bytes | None = None  # the card that lay there when pcscd was lost
        self._held_until = 0.0
        self._closed = asyncio.Event()
        self._status = DeviceStatus(config.name, "down", "not opened yet")
        self._alive_at: float | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"reader-{config.name}")

    @property
    def name(self) -> str:
        return self._config.name

    def status(self) -> DeviceStatus:
        return dataclasses.replace(self._status, alive_at=self._alive_at)

    async def open(self) -> None:
        # Only a missing pyscard fails here; pcscd and the reader are waited for while
        # reading, so that a till booting before its reader is plugged in just waits.
        self._scard = _scard()
        self._status = DeviceStatus(self.name, "down", "connecting to pcscd")

    async def __aiter__(self) -> AsyncIterator[RawScan]:
        while not self._closed.is_set():
            uid = await self._run(self._turn)
            self._alive_at = time.monotonic()
            if uid is not None and not self._closed.is_set():
                yield RawScan(uid.hex().upper().encode(), self.name, datetime.now(UTC))

    async def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        context = self._context
        if context is not None and self._scard is not None:
            self._scard.SCardCancel(context)  # ends a wait in the reader's thread at once
        await self._run(self._drop_context)
        self._thread.shutdown(wait=False)
        self._status = DeviceStatus(self.name, "down", "closed")

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    # --- on the reader's thread ---

    def _turn(self) -> bytes | None:
        """One wait on pcscd: the UID of a card just presented, else None."""
        if self._closed.is_set():
            return None
        if self._context is None and not self._connect():
            return None
        if self._reader is None and not self._find_reader():
            return None
        scard = self._scard
        hr, states = scard.SCardGetStatusChange(
            self._context, int(TURN_S * 1000), [(self._reader, self._state)]
        )
        if hr == scard.SCARD_E_TIMEOUT or self._closed.is_set():
            return None
        if hr in (scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE):
            self._lose_reader()
        elif hr != scard.SCARD_S_SUCCESS:
            self._lose_pcscd(hr)
        elif states[0][1] & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
            self._lose_reader()
        else:
            return self._changed(states[0][1])
        return None

    def _changed(self, event: int) -> bytes | None:
        scard = self._scard
        self._state = event & ~scard.SCARD_STATE_CHANGED
        self._set("ok", "")
        present = bool(event & scard.SCARD_STATE_PRESENT) and not event & scard.SCARD_STATE_MUTE
        if not present:
            if self._present:
                self._present, self._away_since = False, self._clock()
            return None
        if self._present:
            return None  # still the card that is lying there: no new scan
        self._present = True
        return self._presented()

    def _presented(self) -> bytes | None:
        uid = self._read_uid()
        held, self._held = self._held, None
        if uid is None or (uid == held and self._clock() < self._held_until):
            return None  # the card that lay there before pcscd came back: the same scan
        flicker = self._clock() - self._away_since < self._config.debounce_s
        if uid == self._last_uid and flicker:
            return None
        self._last_uid = uid
        return uid

    def _read_uid(self) -> bytes | None:
        scard = self._scard
        protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        hr, card, protocol = scard.SCardConnect(
            self._context, self._reader, scard.SCARD_SHARE_SHARED, protocols
        )
        if hr != scard.SCARD_S_SUCCESS:
            log.info("reader %s: the card went before it was read (%s)", self.name, _why(hr))
            return None
        try:
            hr, answer = scard.SCardTransmit(card, protocol, GET_UID)
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        if hr != scard.SCARD_S_SUCCESS or len(answer) < 3 or answer[-2:] != [0x90, 0x00]:
            sw = " ".join(f"{byte:02X}" for byte in answer[-2:]) if hr == 0 else _why(hr)
            # Not a scan: a contact card in a dual reader, or a reader without GET DATA.
            log.warning(
                "reader %s: the card did not give its UID (GET DATA answered %s); use a "
                "contactless loyalty card, or a reader that supports PC/SC GET DATA",
                self.name,
                sw,
            )
            return None
        return bytes(answer[:-2])

    def _connect(self) -> bool:
        hr, context = self._scard.SCardEstablishContext(self._scard.SCARD_SCOPE_USER)
        if hr != self._scard.SCARD_S_SUCCESS:
            self._wait("down", f"pcscd not reachable ({_why(hr)}); {START_PCSCD}; waiting")
            return False
        self._context = context
        return True

    def _find_reader(self) -> bool:
        scard = self._scard
        hr, names = scard.SCardListReaders(self._context, [])
        if hr not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_NO_READERS_AVAILABLE):
            self._lose_pcscd(hr)
            return False
        listed = list(names or []) if hr == scard.SCARD_S_SUCCESS else []
        found = matching(listed, self._config.reader)
        if found is None:
            seen = ", ".join(listed) or "none"
            self._wait(
                "down",
                f"waiting for reader {self._config.reader!r} (pcscd has: {seen}); plug it "
                "in, or set `reader` to a part of one of those names",
            )
            return False
        log.warning("reader %s: PC/SC reader %r found, reading", self.name, found)
        self._reader, self._state = found, scard.SCARD_STATE_UNAWARE
        # A card lying on the reader while pcscd restarts is the same presentation, not a
        # second scan that would bind its customer to the next sale again. pcscd may first
        # report the reader empty (its first poll can come before the card's), so this holds
        # for HELD_S after the reader is back, not merely for its first report.
        self._held = self._last_uid if self._present else None
        self._held_until = self._clock() + HELD_S
        self._present = False
        return True

    def _lose_reader(self) -> None:
        log.warning("reader %s: %r is gone; waiting for it", self.name, self._reader)
        self._reader = None
        if self._present:
            self._present, self._away_since = False, self._clock()

    def _lose_pcscd(self, hr: int) -> None:
        log.warning("reader %s: pcscd lost (%s); reconnecting", self.name, _why(hr))
        self._set("down", f"pcscd lost ({_why(hr)}); reconnecting")
        self._drop_context()

    def _drop_context(self) -> None:
        context, self._context, self._reader = self._context, None, None
        if context is not None:
            self._scard.SCardReleaseContext(context)

    def _wait(self, state: str, detail: str) -> None:
        """Say what the reader waits for (logged once), then pause one turn."""
        if (state, detail) != (self._status.state, self._status.detail):
            log.warning("reader %s: %s", self.name, detail)
        self._set(state, detail)
        self._closed_or_after(TURN_S)

    def _set(self, state: str, detail: str) -> None:
        if (state, detail) != (self._status.state, self._status.detail):
            self._status = DeviceStatus(self.name, state, detail)  # type: ignore[arg-type]

    def _closed_or_after(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closed.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)


def _why(hr: int) -> str:
    from smartcard import scard  # noqa: PLC0415

    return f"{scard.SCardGetErrorMessage(hr).strip()} [0x{hr & 0xFFFFFFFF:08X}]"


def probe(config: PcscReaderConfig) -> tuple[bool, str]:
    """For ``doctor``: whether pcscd answers and lists the named reader, and what it lists."""
    scard = _scard()
    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return False, f"pcscd not reachable ({_why(hr)}); {START_PCSCD}"
    try:
        hr, names = scard.SCardListReaders(context, [])
        names = list(names or []) if hr == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)
    found = matching(names, config.reader)
    if found is None:
        listed = ", ".join(names) or "no reader"
        return False, (
            f"pcscd has no reader matching {config.reader!r} (it has: {listed}); plug the "
            "reader in, or set `reader` to a part of one of those names"
        )
    return True, f"pcscd answers; reader {found!r} present"
