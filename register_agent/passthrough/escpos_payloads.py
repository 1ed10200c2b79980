"""The payload-carrying ESC/POS commands: how long each is, read from its own length fields.

``escpos_table.py`` dispatches to these for the commands whose length is not fixed: images
(``ESC *``, ``GS v 0``, ``GS 8 L``, ``FS q``), bar codes (``GS k``), downloads (``ESC &``,
``GS *``), the cut's variants (``GS V``), the counters and the real-time ``DLE`` commands.
Each gives the command's name and length, None while the data ends inside it, or raises
``UnknownCommand``.
"""

from __future__ import annotations

#: a payload no receipt printer takes; a length field saying more is a stream out of sync
MAX_COMMAND_BYTES = 16 * 1024 * 1024


class UnknownCommand(Exception):
    """The bytes at this offset are no command the table knows (or are out of range)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: what a measurement gives: (name, length), or None when the data ends inside the command
Measured = tuple[str, int] | None

#: GS V m: the functions with no argument, and those with a feed amount n after m
CUT_PLAIN = frozenset({0, 1, 48, 49})
CUT_WITH_FEED = frozenset({65, 66, 97, 98, 103, 104})


def byte_at(data: bytes, index: int) -> int | None:
    return data[index] if index < len(data) else None


def sized(name: str, length: int, data: bytes, pos: int) -> Measured:
    if length > MAX_COMMAND_BYTES:
        raise UnknownCommand(f"{name} announces {length} bytes, more than any printer takes")
    return (name, length) if pos + length <= len(data) else None


def until_nul(name: str, data: bytes, start: int, pos: int, limit: int) -> Measured:
    end = data.find(b"\x00", start, start + limit + 1)
    if end < 0:
        if len(data) - start > limit:
            raise UnknownCommand(f"{name} has no NUL within {limit} bytes")
        return None
    return name, end + 1 - pos


def esc_bit_image(data: bytes, pos: int) -> Measured:  # ESC * m nL nH d1...dk
    head = data[pos + 2 : pos + 5]
    if len(head) < 3:
        return None
    m, n = head[0], head[1] + head[2] * 256
    if m not in (0, 1, 32, 33):
        raise UnknownCommand(f"ESC * with mode {m}")
    # n columns of one byte (8-dot modes) or three (24-dot modes)
    return sized("ESC *", 5 + n * (1 if m < 32 else 3), data, pos)


def esc_initialise_device(data: bytes, pos: int) -> Measured:  # ESC c 0..5 n
    sub = byte_at(data, pos + 2)
    if sub is not None and sub not in b"012345":
        raise UnknownCommand(f"ESC c with function {sub}")
    return sized("ESC c", 4, data, pos)


def esc_download(data: bytes, pos: int) -> Measured:
    head = data[pos + 2 : pos + 5]
    if len(head) < 3:
        return None
    y, first, last = head
    if not 32 <= first <= last <= 126:
        raise UnknownCommand(f"ESC & for characters {first}..{last}")
    at = pos + 5
    for _ in range(last - first + 1):
        x = byte_at(data, at)
        if x is None:
            return None
        at += 1 + y * x
    return sized("ESC &", at - pos, data, pos)


def gs_cut(data: bytes, pos: int) -> Measured:
    m = byte_at(data, pos + 2)
    if m is None:
        return None
    if m in CUT_PLAIN:
        return "GS V", 3
    if m in CUT_WITH_FEED:
        return sized("GS V", 4, data, pos)
    raise UnknownCommand(f"GS V with function {m}")


def gs_raster(data: bytes, pos: int) -> Measured:
    """``GS v 0 m xL xH yL yH d1...dk`` (raster image) and ``GS Q 0`` with the same fields
    (variable vertical size image): k = (xL + xH * 256) * (yL + yH * 256)."""
    name = f"GS {chr(data[pos + 1])} 0"
    head = data[pos + 2 : pos + 8]
    if len(head) < 6:
        return None
    if head[0] != 0x30:
        raise UnknownCommand(f"{name[:4]} with function {head[0]}")
    width, height = head[2] + head[3] * 256, head[4] + head[5] * 256
    return sized(name, 8 + width * height, data, pos)


def gs_graphics_long(data: bytes, pos: int) -> Measured:  # GS 8 L p1 p2 p3 p4 m fn ...
    head = data[pos + 2 : pos + 7]
    if len(head) < 5:
        return None
    if head[0] not in b"L":
        raise UnknownCommand(f"GS 8 with function {head[0]}")
    return sized("GS 8 L", 7 + int.from_bytes(head[1:5], "little"), data, pos)


def gs_barcode(data: bytes, pos: int) -> Measured:  # GS k m d1...dk NUL | GS k m n d1...dn
    m = byte_at(data, pos + 2)
    if m is None:
        return None
    if m <= 6:
        return until_nul("GS k", data, pos + 3, pos, 255)
    if 65 <= m <= 79:
        n = byte_at(data, pos + 3)
        return None if n is None else sized("GS k", 4 + n, data, pos)
    raise UnknownCommand(f"GS k with bar code system {m}")


def gs_download(data: bytes, pos: int) -> Measured:  # GS * x y d1...d(x*y*8)
    head = data[pos + 2 : pos + 4]
    return None if len(head) < 2 else sized("GS *", 4 + head[0] * head[1] * 8, data, pos)


def gs_counter(data: bytes, pos: int) -> Measured:  # GS g 0 m nL nH | GS g 2 m nL nH
    sub = byte_at(data, pos + 2)
    if sub is not None and sub not in b"02":
        raise UnknownCommand(f"GS g with function {sub}")
    return sized("GS g", 6, data, pos)


def fs_define_nv(data: bytes, pos: int) -> Measured:
    count = byte_at(data, pos + 2)
    if count is None:
        return None
    at = pos + 3
    for _ in range(count):
        head = data[at : at + 4]
        if len(head) < 4:
            return None
        at += 4 + (head[0] + head[1] * 256) * (head[2] + head[3] * 256) * 8
        if at - pos > MAX_COMMAND_BYTES:
            raise UnknownCommand("FS q announces more bytes than any printer takes")
    return sized("FS q", at - pos, data, pos)


#: DLE DC4 fn: the argument bytes after fn (pulse, power off, buzzer, clear buffers, ...)
DLE_DC4_ARGS = {1: 2, 2: 2, 3: 5, 7: 1, 8: 7}


def dle(data: bytes, pos: int) -> Measured:
    code = data[pos + 1]
    n = byte_at(data, pos + 2)
    if n is None:
        return None
    if code == 0x04:  # DLE EOT n, or DLE EOT n a for n = 7, 8
        if n in (1, 2, 3, 4):
            return "DLE EOT", 3
        if n in (7, 8):
            return sized("DLE EOT", 4, data, pos)
        raise UnknownCommand(f"DLE EOT with function {n}")
    if code == 0x05:  # DLE ENQ n
        return "DLE ENQ", 3
    if code == 0x14:  # DLE DC4 fn ...
        if n not in DLE_DC4_ARGS:
            raise UnknownCommand(f"DLE DC4 with function {n}")
        return sized("DLE DC4", 3 + DLE_DC4_ARGS[n], data, pos)
    raise UnknownCommand(f"unknown command DLE 0x{code:02X}")
