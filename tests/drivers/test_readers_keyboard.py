"""The keyboard-wedge reader: its decoder with synthetic evdev events, its device part on Linux."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drivers.keyboard_reader import KEYMAP, UNKNOWN_KEY, KeyboardReader, KeyDecoder, decode
from register_agent.config import KeyboardReaderConfig, ScansConfig
from register_agent.errors import ReaderError
from register_agent.readers.scans import Reason, ScanRules, parse
from tests.support.reader_support import run

evdev = pytest.importorskip("evdev")
ecodes = evdev.ecodes

pytestmark = pytest.mark.timeout(10)


def key(code: int, value: int = 1) -> Any:
    return evdev.InputEvent(1700000000, 0, ecodes.EV_KEY, code, value)


def typed(text: str) -> list[Any]:
    """The events a US-layout scanner sends for ``text``: shift held for capitals."""
    by_char = {plain: (code, False) for code, (plain, _) in reversed(KEYMAP.items())}
    by_char.update({shifted: (code, True) for code, (p, shifted) in KEYMAP.items() if p != shifted})
    events: list[Any] = []
    for char in text:
        code, shift = by_char[char]
        if shift:
            events.append(key(ecodes.KEY_LEFTSHIFT, 1))
        events += [key(code, 1), key(code, 0)]
        if shift:
            events.append(key(ecodes.KEY_LEFTSHIFT, 0))
        events.append(evdev.InputEvent(1700000000, 0, ecodes.EV_SYN, 0, 0))
    return events


def enter(code: int | None = None) -> list[Any]:
    return [key(code or ecodes.KEY_ENTER, 1), key(code or ecodes.KEY_ENTER, 0)]


def test_key_events_become_text_with_shift_and_enter() -> None:
    events = typed("Piggy-Card_42") + enter() + typed("04A2:3b") + enter(ecodes.KEY_KPENTER)
    assert decode(events) == ["Piggy-Card_42", "04A2:3b"]


def test_right_shift_key_up_autorepeat_and_other_events() -> None:
    events = [
        key(ecodes.KEY_RIGHTSHIFT, 1),
        key(ecodes.KEY_A, 1),
        key(ecodes.KEY_RIGHTSHIFT, 2),  # autorepeat of shift: still held
        key(ecodes.KEY_B, 1),
        key(ecodes.KEY_B, 2),  # autorepeat of a character: not a second character
        key(ecodes.KEY_RIGHTSHIFT, 0),
        key(ecodes.KEY_C, 1),
        evdev.InputEvent(0, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70004),
        *enter(),
    ]
    assert decode(events) == ["ABc"]


def test_empty_enter_and_unfinished_text_give_no_scan() -> None:
    decoder = KeyDecoder()
    assert [decoder.feed(e) for e in enter()] == [None, None]
    assert decode(typed("1234")) == []


def test_keys_that_are_no_character_make_the_scan_rejected() -> None:
    events = [*typed("AB"), key(ecodes.KEY_LEFTCTRL), key(ecodes.KEY_F1), *typed("CD"), *enter()]
    (text,) = decode(events)
    assert text == f"AB{UNKNOWN_KEY}{UNKNOWN_KEY}CD"
    assert parse(text.encode(), ScanRules.from_config(ScansConfig())) == Reason.CONTROL_CHARACTERS


def test_a_runaway_scanner_is_cut_and_rejected_as_too_long() -> None:
    (text,) = decode(typed("1") * 5000 + enter())
    assert 1000 < len(text) < 1100
    assert parse(text.encode(), ScanRules.from_config(ScansConfig())) == Reason.TOO_LONG


def test_the_keymap_agrees_with_the_kernel_codes() -> None:
    for letter in "abcdefghijklmnopqrstuvwxyz":
        assert KEYMAP[getattr(ecodes, f"KEY_{letter.upper()}")] == (letter, letter.upper())
    for digit in "0123456789":
        assert KEYMAP[getattr(ecodes, f"KEY_{digit}")][0] == digit
        assert KEYMAP[getattr(ecodes, f"KEY_KP{digit}")] == (digit, digit)
    named = {"MINUS": ("-", "_"), "SLASH": ("/", "?"), "DOT": (".", ">"), "SPACE": (" ", " ")}
    for name, chars in named.items():
        assert KEYMAP[getattr(ecodes, f"KEY_{name}")] == chars


def test_a_missing_device_is_a_reader_error_with_the_fix() -> None:
    config = KeyboardReaderConfig(
        kind="keyboard", name="wedge", device=Path("/dev/input/by-id/usb-No_Scanner-event-kbd")
    )
    reader = KeyboardReader(config)

    async def scenario() -> None:
        with pytest.raises(ReaderError, match=r"usb-No_Scanner-event-kbd.*plug the scanner in"):
            await reader.open()

    run(scenario())
    assert reader.status().state == "down"


@pytest.mark.skipif(not Path("/dev/input").is_dir(), reason="no /dev/input on this machine")
def test_an_input_device_can_be_opened_and_grabbed() -> None:  # pragma: no cover (no input here)
    devices = sorted(Path("/dev/input").glob("event*"))
    if not devices:
        pytest.skip("no event devices")
    reader = KeyboardReader(
        # no grab: this may be the developer's own keyboard
        KeyboardReaderConfig(kind="keyboard", name="k", device=devices[0], grab=False)
    )

    async def scenario() -> None:
        try:
            await reader.open()
        except ReaderError as exc:
            pytest.skip(f"cannot open an input device here: {exc}")
        assert reader.status().state == "ok"
        await reader.close()

    run(scenario())
