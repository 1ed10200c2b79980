"""The keyboard-wedge reader: its decoder with synthetic evdev events, its device part on Linux."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.keyboard_reader import (
    UNKNOWN_KEY,
    XKB_OFFSET,
    KeyboardReader,
    KeyDecoder,
    compile_keymap,
    decode,
)
from register_agent.config import KeyboardReaderConfig, ScansConfig
from register_agent.config.xkb_names import check_layout
from register_agent.errors import ReaderError
from register_agent.readers.scans import Reason, ScanRules, parse
from tests.support.reader_support import run

evdev = pytest.importorskip("evdev")
ecodes = evdev.ecodes

xkb = pytest.importorskip("xkbcommon.xkb")

pytestmark = pytest.mark.timeout(10)
_MODIFIER_KEYS = {"Shift": ecodes.KEY_LEFTSHIFT, "Mod5": ecodes.KEY_RIGHTALT}  # Mod5: AltGr


def key(code: int, value: int = 1) -> Any:
    return evdev.InputEvent(1700000000, 0, ecodes.EV_KEY, code, value)


#: every character a card code may hold: digits, letters and the separators
CARD_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-: _"
#: the layouts of the tills we know of, and a few more (each one is one more XKB name)
LAYOUTS = [("us", ""), ("be", ""), ("fr", ""), ("de", ""), ("de", "nodeadkeys"), ("ch", "")]
LAYOUTS += [("gb", ""), ("nl", ""), ("es", ""), ("it", ""), ("fr", "bepo"), ("us", "dvorak")]


def keys_for(layout: str = "us", variant: str = "") -> dict[str, tuple[int, tuple[int, ...]]]:
    """char -> (kernel key code, modifier keys held) for a scanner on ``layout``: read off the
    keymap's levels (a table lookup), not through the state machine the decoder uses."""
    keymap = compile_keymap(layout, variant)
    bits = {keymap.mod_get_index(name): key for name, key in _MODIFIER_KEYS.items()}
    found: dict[str, tuple[int, tuple[int, ...]]] = {}
    for code in range(1, 128):
        if keymap.num_layouts_for_key(code + XKB_OFFSET) == 0:
            continue
        for level in range(keymap.num_levels_for_key(code + XKB_OFFSET, 0)):
            for mask in keymap.key_get_mods_for_level(code + XKB_OFFSET, 0, level):
                if mask & ~sum(1 << bit for bit in bits):
                    continue  # needs Caps Lock, Ctrl, ...: a scanner does not type that
                held = tuple(key for bit, key in bits.items() if mask & (1 << bit))
                for sym in keymap.key_get_syms_by_level(code + XKB_OFFSET, 0, level):
                    char = xkb.keysym_to_string(sym)
                    if char and (char not in found or len(held) < len(found[char][1])):
                        found[char] = (code, held)
    return found


def typed(text: str, layout: str = "us", variant: str = "") -> list[Any]:
    """The events a scanner on ``layout`` sends for ``text``: its modifiers held around a key."""
    keys = keys_for(layout, variant)
    events: list[Any] = []
    for char in text:
        code, held = keys[char]
        events += [key(modifier, 1) for modifier in held]
        events += [key(code, 1), key(code, 0)]
        events += [key(modifier, 0) for modifier in held]
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
    ctrl_c = [key(ecodes.KEY_LEFTCTRL), key(ecodes.KEY_C), key(ecodes.KEY_LEFTCTRL, 0)]
    events = [*typed("AB"), *ctrl_c, key(ecodes.KEY_F1), *typed("CD"), *enter()]
    (text,) = decode(events)
    assert text == f"AB{UNKNOWN_KEY}{UNKNOWN_KEY}CD"
    assert parse(text.encode(), ScanRules.from_config(ScansConfig())) == Reason.CONTROL_CHARACTERS


def test_a_runaway_scanner_is_cut_and_rejected_as_too_long() -> None:
    (text,) = decode(typed("1") * 5000 + enter())
    assert 1000 < len(text) < 1100
    assert parse(text.encode(), ScanRules.from_config(ScansConfig())) == Reason.TOO_LONG


@pytest.mark.parametrize(("layout", "variant"), LAYOUTS)
def test_every_card_character_typed_on_a_layout_comes_back(layout: str, variant: str) -> None:
    scans = [CARD_CHARACTERS, "04:A2:3B:1C", "Piggy-Card 42", "1234567890"]
    events = [event for text in scans for event in (*typed(text, layout, variant), *enter())]
    assert decode(events, layout, variant) == scans


@pytest.mark.parametrize(
    ("layout", "variant", "events", "text"),
    [
        # what the physical keys give, from the layouts' printed keycaps
        ("us", "", [ecodes.KEY_1, ecodes.KEY_Q, ecodes.KEY_Y, ecodes.KEY_MINUS], "1qy-"),
        ("be", "", [ecodes.KEY_1, ecodes.KEY_Q, ecodes.KEY_EQUAL, ecodes.KEY_DOT], "&a-:"),
        ("fr", "", [ecodes.KEY_1, ecodes.KEY_A, ecodes.KEY_6, ecodes.KEY_DOT], "&q-:"),
        ("de", "", [ecodes.KEY_1, ecodes.KEY_Y, ecodes.KEY_Z, ecodes.KEY_SLASH], "1zy-"),
    ],
)
def test_unshifted_keys_give_the_layouts_own_characters(
    layout: str, variant: str, events: list[int], text: str
) -> None:
    pressed = [event for code in events for event in (key(code, 1), key(code, 0))]
    assert decode([*pressed, *enter()], layout, variant) == [text]


def test_a_belgian_scanner_types_digits_with_shift_and_the_us_map_would_not() -> None:
    events = [*typed("0412", "be"), *enter()]
    assert decode(events, "be") == ["0412"]
    assert decode(events, "us") == [")$!@"]  # what a US key map made of a Belgian card


def test_keypad_digits_are_digits_on_every_layout() -> None:
    pads = [getattr(ecodes, f"KEY_KP{digit}") for digit in "0123456789"]
    events = [event for code in pads for event in (key(code, 1), key(code, 0))] + enter()
    for layout, variant in LAYOUTS:
        assert decode(events, layout, variant) == ["0123456789"]


@pytest.mark.parametrize(("layout", "variant"), [("zz", ""), ("be", "nonesuch"), ("BE", "")])
def test_an_unknown_layout_is_refused_at_config_time_with_where_to_find_names(
    layout: str, variant: str
) -> None:
    with pytest.raises(ValidationError, match="localectl list-x11-keymap-layouts"):
        KeyboardReaderConfig(
            kind="keyboard", name="k", device=Path("/dev/null"), layout=layout, variant=variant
        )


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


def test_without_xkb_data_the_config_passes_and_the_reader_alone_fails(tmp_path: Path) -> None:
    check_layout("be", "", tmp_path / "evdev.lst")  # no list to check against: no refusal
    with pytest.raises(ValueError, match="unknown keyboard layout 'zz'"):
        check_layout("zz", "")
