"""The PC/SC driver alone, its turns driven one by one against a scripted pcscd (the real
pcscd is in test_readers_pcsc.py): what a flickering card, a second card and a reader that
goes away make of the scans and the status."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from drivers.pcsc_reader import PcscReader
from register_agent.config import PcscReaderConfig

scard = pytest.importorskip("smartcard.scard")

PRESENT = scard.SCARD_STATE_PRESENT | scard.SCARD_STATE_CHANGED
EMPTY = scard.SCARD_STATE_EMPTY | scard.SCARD_STATE_CHANGED
GONE = scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_CHANGED
NAME = "ACS ACR122U PICC Interface 00 00"


class ScriptedPcscd:
    """pyscard's ``scard`` module as the driver calls it, answering from a script."""

    def __init__(self) -> None:
        self.events: deque[tuple[int, int, bytes]] = deque()  # (hr, event state, card uid)
        self.readers = [NAME]
        self.uid = b""
        for constant in dir(scard):
            if constant.startswith("SCARD_"):
                setattr(self, constant, getattr(scard, constant))

    def SCardEstablishContext(self, scope: int) -> tuple[int, int]:
        return scard.SCARD_S_SUCCESS, 1

    def SCardListReaders(self, context: int, groups: list[str]) -> tuple[int, list[str]]:
        if not self.readers:
            return scard.SCARD_E_NO_READERS_AVAILABLE, []
        return scard.SCARD_S_SUCCESS, list(self.readers)

    def SCardGetStatusChange(self, context: int, timeout: int, states: Any) -> Any:
        if not self.events:
            return scard.SCARD_E_TIMEOUT, []
        hr, event, self.uid = self.events.popleft()
        return hr, [(states[0][0], event, [])]

    def SCardConnect(self, *args: Any) -> tuple[int, str, int]:
        return scard.SCARD_S_SUCCESS, "card", scard.SCARD_PROTOCOL_T1

    def SCardTransmit(self, card: str, protocol: int, apdu: list[int]) -> Any:
        assert apdu == [0xFF, 0xCA, 0x00, 0x00, 0x00]
        return scard.SCARD_S_SUCCESS, [*self.uid, 0x90, 0x00]

    def SCardDisconnect(self, *args: Any) -> Any:
        return scard.SCARD_S_SUCCESS

    def SCardReleaseContext(self, context: int) -> Any:
        return scard.SCARD_S_SUCCESS


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rig() -> tuple[PcscReader, ScriptedPcscd, Clock]:
    clock = Clock()
    config = PcscReaderConfig(kind="pcsc", name="nfc", reader="acr122u", debounce_s=0.3)
    reader = PcscReader(config, clock=clock)
    fake = ScriptedPcscd()
    reader._scard = fake  # what open() imports
    return reader, fake, clock


def turns(reader: PcscReader, fake: ScriptedPcscd) -> list[str]:
    """Run the driver until the script is spent; the UIDs it scanned, in hex."""
    scanned = []
    while fake.events:
        uid = reader._turn()
        if uid is not None:
            scanned.append(uid.hex().upper())
    return scanned


def test_a_card_flickering_at_the_edge_of_the_field_is_one_scan(rig: Any) -> None:
    reader, fake, clock = rig
    card = bytes.fromhex("04A23B1C")
    fake.events += [(0, PRESENT, card), (0, EMPTY, b"")]
    assert turns(reader, fake) == ["04A23B1C"]
    clock.now += 0.1  # back within the reader's debounce: the same presentation
    fake.events += [(0, PRESENT, card), (0, EMPTY, b"")]
    assert turns(reader, fake) == []
    clock.now += 1.0  # away for longer: presented again
    fake.events += [(0, PRESENT, card), (0, EMPTY, b"")]
    assert turns(reader, fake) == ["04A23B1C"]
    clock.now += 0.1  # another card at once is another scan
    fake.events += [(0, PRESENT, bytes.fromhex("B2C3D4E5"))]
    assert turns(reader, fake) == ["B2C3D4E5"]
    assert reader.status().state == "ok"


def test_a_reader_that_goes_is_waited_for_and_read_again(rig: Any) -> None:
    reader, fake, clock = rig
    fake.events += [(0, GONE, b"")]
    turns(reader, fake)
    fake.readers = []
    reader._closed_or_after = lambda seconds: None  # no pause between the scripted turns
    reader._turn()
    status = reader.status()
    assert status.state == "down"
    assert "waiting for reader 'acr122u' (pcscd has: none)" in status.detail
    fake.readers = ["Other Reader 00 00", NAME]
    clock.now += 5
    fake.events += [(0, PRESENT, bytes.fromhex("04A23B1C"))]
    assert turns(reader, fake) == ["04A23B1C"]
    assert reader.status().state == "ok"


def test_a_card_without_get_data_is_no_scan(rig: Any, caplog: pytest.LogCaptureFixture) -> None:
    reader, fake, _ = rig
    fake.SCardTransmit = lambda *args: (scard.SCARD_S_SUCCESS, [0x6A, 0x81])
    fake.events += [(0, PRESENT, b"")]
    assert turns(reader, fake) == []
    assert "GET DATA answered 6A 81" in caplog.text
