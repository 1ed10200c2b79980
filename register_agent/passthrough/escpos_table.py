"""The length of each ESC/POS command, so the pass-through reader can step over a job.

The reader in ``escpos_reader.py`` asks ``measure(data, pos)`` for the command that starts
at ``pos``: its name and its length in bytes, payload included, read from the command's own
length fields (``GS v 0``'s width and height, the ``pL pH`` of the ``GS (`` families, the
``GS k`` data up to its NUL, ...). Bytes inside an image or a QR code are so never read as
text. The table follows Epson's ESC/POS reference; a command it does not know is reported,
never guessed, because one wrong length would read every later byte wrongly.

Star Line Mode (Star printers not switched to their ESC/POS emulation) is not in the table
beyond its cut (``ESC d n``, ``code_pages.is_cut``): the one public list of its command
lengths we found (the stuifzand-software/star-linemode project's ``codes.spec``) covers
text formatting only, without a licence, and has none of the commands that carry a payload
(raster images, stored logos, barcodes, QR codes), whose lengths would be guesses here.
Such a job reaches an unknown command and is relayed untouched (``out_of_sync``), and with
``cut_dialect = "star-line"`` it is not read at all (``star_line``, ``stream.py``). What is
missing: Star's "Line Mode Command Specifications" table of every command and its
parameters, checked against a recorded job.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from register_agent.passthrough.escpos_payloads import (
    MAX_COMMAND_BYTES,
    Measured,
    UnknownCommand,
    dle,
    esc_bit_image,
    esc_download,
    esc_initialise_device,
    fs_define_nv,
    gs_barcode,
    gs_counter,
    gs_cut,
    gs_download,
    gs_graphics_long,
    gs_raster,
    sized,
    until_nul,
)

__all__ = ["MAX_COMMAND_BYTES", "REALTIME", "TEXT_RUN", "UnknownCommand", "measure"]

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10

#: a run of bytes that print as text: the characters, and HT, a tab stop (LF, CR, FF and
#: CAN are commands of their own)
TEXT_RUN = re.compile(rb"[\x09\x20-\xff]+")
#: one-byte commands: print and feed, carriage return, form feed, cancel, and NUL, which a
#: printer ignores and some drivers pad a job with
SINGLE_BYTES = {0x0A: "LF", 0x0D: "CR", 0x0C: "FF", 0x18: "CAN", 0x00: "NUL"}

#: the commands whose bytes the relay must pass at once: the printer answers them out of
#: band, and a till may wait for that answer before it sends anything else
REALTIME = frozenset({"DLE EOT", "DLE ENQ", "DLE DC4"})


# ESC x followed by a fixed number of argument bytes
_ESC_FIXED: dict[int, int] = {
    0x0C: 0,  # ESC FF   print data in page mode
    0x20: 1,  # ESC SP n right-side character spacing
    0x21: 1,  # ESC ! n  print mode
    0x24: 2,  # ESC $    absolute position
    0x25: 1,  # ESC % n  user-defined characters on/off
    0x2D: 1,  # ESC - n  underline
    0x32: 0,  # ESC 2    default line spacing
    0x33: 1,  # ESC 3 n  line spacing
    0x3C: 0,  # ESC <    return home
    0x3D: 1,  # ESC = n  peripheral device
    0x3F: 1,  # ESC ? n  cancel user-defined character
    0x40: 0,  # ESC @    initialise
    0x45: 1,  # ESC E n  emphasis
    0x47: 1,  # ESC G n  double strike
    0x4A: 1,  # ESC J n  print and feed paper
    0x4B: 1,  # ESC K n  print and reverse feed
    0x4C: 0,  # ESC L    page mode
    0x4D: 1,  # ESC M n  character font
    0x52: 1,  # ESC R n  international character set
    0x53: 0,  # ESC S    standard mode
    0x54: 1,  # ESC T n  print direction in page mode
    0x55: 1,  # ESC U n  unidirectional printing
    0x56: 1,  # ESC V n  90-degree rotation
    0x57: 8,  # ESC W    print area in page mode
    0x5C: 2,  # ESC \    relative position
    0x61: 1,  # ESC a n  justification
    0x64: 1,  # ESC d n  print and feed n lines
    0x65: 1,  # ESC e n  print and reverse feed n lines
    0x69: 0,  # ESC i    partial cut (one point left)
    0x6D: 0,  # ESC m    partial cut (three points left)
    0x70: 3,  # ESC p m t1 t2  drawer kick-out pulse
    0x72: 1,  # ESC r n  print colour
    0x74: 1,  # ESC t n  character code table
    0x75: 1,  # ESC u n  peripheral status (obsolete)
    0x76: 0,  # ESC v    paper sensor status (obsolete)
    0x7B: 1,  # ESC { n  upside-down printing
}

# GS x followed by a fixed number of argument bytes
_GS_FIXED: dict[int, int] = {
    0x21: 1,  # GS ! n   character size
    0x23: 1,  # GS # n   NV bit image number (obsolete)
    0x24: 2,  # GS $     absolute vertical position in page mode
    0x2F: 1,  # GS / m   print downloaded bit image
    0x3A: 0,  # GS :     start / end of macro definition
    0x42: 1,  # GS B n   white / black reverse
    0x45: 1,  # GS E n   print density (some models)
    0x48: 1,  # GS H n   HRI position
    0x49: 1,  # GS I n   printer id
    0x4C: 2,  # GS L     left margin
    0x50: 2,  # GS P x y motion units
    0x54: 1,  # GS T n   beginning of line
    0x57: 2,  # GS W     print area width
    0x5C: 2,  # GS \     relative vertical position in page mode
    0x5E: 3,  # GS ^     execute macro
    0x61: 1,  # GS a n   automatic status back
    0x62: 1,  # GS b n   smoothing
    0x63: 0,  # GS c     print counter
    0x66: 1,  # GS f n   HRI font
    0x68: 1,  # GS h n   bar code height
    0x6A: 1,  # GS j n   automatic status back for ink
    0x72: 1,  # GS r n   transmit status
    0x77: 1,  # GS w n   bar code width
    0x7A: 3,  # GS z 0 t1 t2  online recovery wait time
}

_FS_FIXED: dict[int, int] = {
    0x21: 1,  # FS ! n   Kanji print mode
    0x26: 0,  # FS &     Kanji mode on
    0x2D: 1,  # FS - n   Kanji underline
    0x2E: 0,  # FS .     Kanji mode off
    0x43: 1,  # FS C n   Kanji code system
    0x53: 2,  # FS S     Kanji spacing
    0x57: 1,  # FS W n   Kanji quadruple size
    0x70: 2,  # FS p n m print NV bit image
}

#: the ``ESC (``, ``GS (`` and ``FS (`` functions: ``fn pL pH`` then pL + pH*256 bytes
_PL_PH_FUNCTIONS = {
    ESC: frozenset(b"AY"),
    GS: frozenset(b"ABCDEFGHKLMNPQkz"),
    FS: frozenset(b"ACEFLe"),
}
_PREFIX = {ESC: "ESC", GS: "GS", FS: "FS"}


def _name(prefix: int, code: int) -> str:
    shown = chr(code) if 0x21 <= code < 0x7F else f"0x{code:02X}"
    return f"{_PREFIX[prefix]} {shown}"


def _esc(data: bytes, pos: int) -> Measured:
    code = data[pos + 1]
    if code in _ESC_FIXED:
        return sized(_name(ESC, code), 2 + _ESC_FIXED[code], data, pos)
    handler = _ESC_VARIABLE.get(code)
    if handler is None:
        raise UnknownCommand(f"unknown command {_name(ESC, code)}")
    return handler(data, pos)


def _pl_ph(prefix: int, data: bytes, pos: int) -> Measured:
    head = data[pos + 2 : pos + 5]
    if len(head) < 3:
        return None
    fn = head[0]
    if fn not in _PL_PH_FUNCTIONS[prefix]:
        raise UnknownCommand(f"unknown command {_PREFIX[prefix]} ( {chr(fn)!r}")
    return sized(f"{_PREFIX[prefix]} ( {chr(fn)}", 5 + head[1] + head[2] * 256, data, pos)


def _gs(data: bytes, pos: int) -> Measured:
    code = data[pos + 1]
    if code in _GS_FIXED:
        return sized(_name(GS, code), 2 + _GS_FIXED[code], data, pos)
    handler = _GS_VARIABLE.get(code)
    if handler is None:
        raise UnknownCommand(f"unknown command {_name(GS, code)}")
    return handler(data, pos)


_ESC_VARIABLE: dict[int, Callable[[bytes, int], Measured]] = {
    0x2A: esc_bit_image,
    0x44: lambda data, pos: until_nul("ESC D", data, pos + 2, pos, 32),  # tab positions
    0x63: esc_initialise_device,
    0x26: esc_download,  # ESC & y c1 c2 [x d1...d(y*x)] per character
    0x28: lambda data, pos: _pl_ph(ESC, data, pos),
}

_GS_VARIABLE: dict[int, Callable[[bytes, int], Measured]] = {
    0x28: lambda data, pos: _pl_ph(GS, data, pos),
    0x56: gs_cut,
    0x76: gs_raster,
    0x38: gs_graphics_long,
    0x6B: gs_barcode,
    0x2A: gs_download,
    0x67: gs_counter,
    0x51: gs_raster,  # GS Q 0: variable vertical size bit image
}


def _fs(data: bytes, pos: int) -> Measured:
    code = data[pos + 1]
    if code in _FS_FIXED:
        return sized(_name(FS, code), 2 + _FS_FIXED[code], data, pos)
    if code == 0x28:
        return _pl_ph(FS, data, pos)
    if code == 0x71:  # FS q n [xL xH yL yH d1...d(x*y*8)]1...n: define NV bit images
        return fs_define_nv(data, pos)
    if code == 0x32:  # FS 2 c1 c2 d1...d72: define a Kanji character
        return sized("FS 2", 76, data, pos)
    raise UnknownCommand(f"unknown command {_name(FS, code)}")


_PREFIXED: dict[int, Callable[[bytes, int], Measured]] = {ESC: _esc, GS: _gs, FS: _fs, DLE: dle}


def measure(data: bytes, pos: int) -> Measured:
    """The command at ``pos`` (a prefix byte or a one-byte command; never text)."""
    first = data[pos]
    if first in SINGLE_BYTES:
        return SINGLE_BYTES[first], 1
    handler = _PREFIXED.get(first)
    if handler is None:
        raise UnknownCommand(f"control byte 0x{first:02X} is no command")
    if pos + 1 >= len(data):
        return None
    return handler(data, pos)
