"""The reader's command table, code pages, cuts and failures, one case per row."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from register_agent.config.passthrough import CutDialect
from register_agent.passthrough.escpos_reader import (
    CommandReader,
    StreamOutOfSync,
    decode_job,
    read_commands,
)

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"

#: bytes -> the commands' (name, length), in order
COMMANDS: list[tuple[bytes, list[tuple[str, int]]]] = [
    (ESC + b"@", [("ESC @", 2)]),
    (ESC + b"t\x13", [("ESC t", 3)]),
    (ESC + b"R\x02" + ESC + b"!\x30" + GS + b"!\x11", [("ESC R", 3), ("ESC !", 3), ("GS !", 3)]),
    (ESC + b"a\x01" + ESC + b"E\x01" + ESC + b"-\x02", [("ESC a", 3), ("ESC E", 3), ("ESC -", 3)]),
    (ESC + b"p\x00\x19\xfa", [("ESC p", 5)]),
    (ESC + b"p0<x", [("ESC p", 5)]),
    (ESC + b"i" + ESC + b"m", [("ESC i", 2), ("ESC m", 2)]),
    (GS + b"V\x00" + GS + b"V1", [("GS V", 3), ("GS V", 3)]),
    (GS + b"VA\x03" + GS + b"VB\x00", [("GS V", 4), ("GS V", 4)]),
    (GS + b"Va\x05" + GS + b"Vh\x02", [("GS V", 4), ("GS V", 4)]),
    (DLE + b"\x04\x01" + DLE + b"\x04\x04", [("DLE EOT", 3), ("DLE EOT", 3)]),
    (DLE + b"\x04\x07\x01", [("DLE EOT", 4)]),
    (DLE + b"\x05\x02", [("DLE ENQ", 3)]),
    (
        DLE + b"\x14\x01\x00\x05" + DLE + b"\x14\x08" + b"\x01\x03\x14\x01\x06\x02\x08",
        [("DLE DC4", 5), ("DLE DC4", 10)],
    ),
    (GS + b"r\x01" + GS + b"a\xff" + GS + b"I\x42", [("GS r", 3), ("GS a", 3), ("GS I", 3)]),
    # raster: 2 bytes wide, 3 dots high: 6 bytes of image, here bytes that spell text
    (GS + b"v0\x00\x02\x00\x03\x00" + b"TOTAL\n", [("GS v 0", 14)]),
    (GS + b"(L\x05\x000p0\x01\x01", [("GS ( L", 10)]),
    (GS + b"Q0\x00\x03\x00\x01\x00abc", [("GS Q 0", 11)]),
    (
        GS + b"(F\x04\x00\x01\x00\x00\x10" + GS + b"z0\x01\x02" + GS + b"j\x01",
        [("GS ( F", 9), ("GS z", 5), ("GS j", 3)],
    ),
    (GS + b"8L\x03\x00\x00\x000p0", [("GS 8 L", 10)]),
    # ESC * in 8-dot mode: 3 columns of 1 byte; in 24-dot mode: 2 columns of 3 bytes
    (ESC + b"*\x00\x03\x00abc" + ESC + b"*\x21\x02\x00abcdef", [("ESC *", 8), ("ESC *", 11)]),
    # QR code: store the data (pL pH = 7: cn fn m and 4 data bytes), then print it
    (
        GS + b"(k\x07\x001P0\x1b\x1d\x0a\x00" + GS + b"(k\x03\x001Q0",
        [("GS ( k", 12), ("GS ( k", 8)],
    ),
    (GS + b"k\x04ABC-1\x00", [("GS k", 9)]),
    (GS + b"kI\x05{BAB\x00", [("GS k", 9)]),
    (GS + b"*\x01\x01" + bytes(8) + GS + b"/\x00", [("GS *", 12), ("GS /", 3)]),
    (ESC + b"&\x03AB\x02" + bytes(6) + b"\x01" + bytes(3), [("ESC &", 16)]),
    (FS + b"p\x01\x00", [("FS p", 4)]),
    (FS + b"q\x01\x01\x00\x01\x00" + bytes(8), [("FS q", 15)]),
    (ESC + b"(A\x04\x000ABC", [("ESC ( A", 9)]),
    (ESC + b"D\x08\x10\x00", [("ESC D", 5)]),
    (ESC + b"c5\x01" + ESC + b"d\x03" + ESC + b"J\x10", [("ESC c", 4), ("ESC d", 3), ("ESC J", 3)]),
    (
        GS + b"L\x10\x00" + GS + b"W\x00\x02" + GS + b"g0\x00\x14\x00",
        [("GS L", 4), ("GS W", 4), ("GS g", 6)],
    ),
    (b"Total\t12,50\r\n\x00", [("text", 11), ("CR", 1), ("LF", 1), ("NUL", 1)]),
]


@pytest.mark.parametrize(("data", "expected"), COMMANDS, ids=[repr(row[0][:6]) for row in COMMANDS])
def test_each_command_is_read_with_its_length(data: bytes, expected: list[tuple[str, int]]) -> None:
    commands = read_commands(data)
    assert [(command.name, command.length) for command in commands] == expected
    assert b"".join(data[c.offset : c.offset + c.length] for c in commands) == data


def test_only_the_real_time_commands_are_marked_real_time() -> None:
    data = ESC + b"@" + DLE + b"\x04\x01" + ESC + b"p\x00\x19\xfa" + DLE + b"\x05\x01"
    data += DLE + b"\x14\x01\x00\x01" + GS + b"r\x01" + b"x"
    marked = [(command.name, command.realtime) for command in read_commands(data)]
    assert marked == [
        ("ESC @", False),
        ("DLE EOT", True),
        ("ESC p", False),
        ("DLE ENQ", True),
        ("DLE DC4", True),
        ("GS r", False),
        ("text", False),
    ]


#: a stream made to break the reader -> the offset it gives up at, and whether the job only
#: ended too early (the relay tells a job still arriving from one it cannot read)
BROKEN: list[tuple[str, bytes, int, bool]] = [
    ("truncated raster", b"hi\n" + GS + b"v0\x00\x10\x00\x10\x00" + bytes(100), 3, True),
    ("truncated GS ( k", GS + b"(k\x40\x001P0abc", 0, True),
    ("job ends after ESC", b"abc" + ESC, 3, True),
    ("job ends inside ESC p", b"abc" + ESC + b"p\x00", 3, True),
    ("unknown ESC", b"ok" + ESC + b"\x01\x02", 2, False),
    ("unknown GS", GS + b"\x7f", 0, False),
    ("unknown GS ( function", GS + b"(Z\x01\x00\x00", 0, False),
    ("GS V with no such function", GS + b"V\x07", 0, False),
    ("GS k with no such system", GS + b"k\x20abc\x00", 0, False),
    ("GS k without its NUL", GS + b"k\x04" + b"1" * 300, 0, False),
    ("stray control byte", b"abc\x07def", 3, False),
    ("ESC * with no such mode", ESC + b"*\x05\x01\x00a", 0, False),
    ("GS 8 L larger than any printer", GS + b"8L\xff\xff\xff\xff0p", 0, False),
    ("DLE EOT 9", DLE + b"\x04\x09", 0, False),
]


@pytest.mark.parametrize(
    ("data", "offset", "truncated"), [row[1:] for row in BROKEN], ids=[row[0] for row in BROKEN]
)
def test_a_stream_the_reader_cannot_follow_raises_where_it_lost_sync(
    data: bytes, offset: int, truncated: bool
) -> None:
    with pytest.raises(StreamOutOfSync) as raised:
        read_commands(data)
    assert raised.value.offset == offset
    assert raised.value.reason.startswith("truncated") == truncated


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_read_whole_or_refused_never_misread(data: bytes) -> None:
    lost_at: int | None = None
    try:
        commands = read_commands(data)
        job = decode_job(data, {3: "cp1252"})
    except StreamOutOfSync as exc:
        lost_at = exc.offset
    if lost_at is not None:
        assert 0 <= lost_at < len(data)
        return
    assert b"".join(data[c.offset : c.offset + c.length] for c in commands) == data
    assert job.commands == commands
    assert len(job.lines) == len(job.line_ends)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=20))
def test_a_job_fed_in_chunks_gives_the_commands_of_the_whole(data: bytes, sizes: list[int]) -> None:
    try:
        whole = read_commands(data)
    except StreamOutOfSync:
        whole = None
    reader = CommandReader()
    fed = []
    at = 0
    try:
        for size in [*sizes, len(data)]:
            fed += reader.feed(data[at : at + size])
            at += size
        reader.close()
    except StreamOutOfSync:
        assert whole is None
        return
    assert whole is not None
    assert reader.offset == len(data)
    assert b"".join(data[c.offset : c.offset + c.length] for c in fed) == data
    assert [c for c in fed if c.name != "text"] == [c for c in whole if c.name != "text"]


def test_a_raster_arriving_in_pieces_waits_for_its_last_byte() -> None:
    raster = GS + b"v0\x00\x02\x00\x02\x00" + b"\xff" * 4
    reader = CommandReader()
    assert [c.name for c in reader.feed(b"A\n" + raster[:5])] == ["text", "LF"]
    assert reader.feed(raster[5:-1]) == []
    assert [(c.name, c.offset) for c in reader.feed(raster[-1:] + DLE + b"\x04")] == [("GS v 0", 2)]
    with pytest.raises(StreamOutOfSync):
        reader.close()


#: the job's text bytes and ESC t number -> the line it prints
CODE_PAGES: list[tuple[bytes, dict[int, str] | None, str]] = [
    (b"12,50 \x80", None, "12,50 Ç"),  # no ESC t: table 0, PC437
    (ESC + b"t\x10" + b"12,50 \x80", None, "12,50 €"),  # 16: WPC1252
    (ESC + b"t\x13" + b"12,50 \xd5", None, "12,50 €"),  # 19: PC858
    (ESC + b"t\x28" + b"12,50 \xa4", None, "12,50 €"),  # 40: ISO 8859-15
    (ESC + b"t\x02" + b"\x9b", None, "ø"),  # 2: PC850
    # a model that numbers WPC1252 as 16 differently: the config's table wins
    (ESC + b"t\x05" + b"12,50 \x80", {5: "cp1252"}, "12,50 €"),
    # a table neither knows: the ASCII half still reads
    (ESC + b"t\x63" + b"TOTAL 3,00 \xd5", None, "TOTAL 3,00 \ufffd"),
    # ESC @ puts table 0 back
    (ESC + b"t\x10" + ESC + b"@" + b"\x80", None, "Ç"),
]


@pytest.mark.parametrize(("data", "tables", "line"), CODE_PAGES)
def test_text_is_read_in_the_code_page_esc_t_selected(
    data: bytes, tables: dict[int, str] | None, line: str
) -> None:
    assert decode_job(data + b"\n", tables).lines == [line]


def test_lines_end_at_line_feeds_feeds_and_cuts() -> None:
    data = b"A\nB" + ESC + b"d\x02" + b"\n" + b"C" + GS + b"VA\x00" + b"D" + ESC + b"i" + b"E"
    job = decode_job(data)
    assert job.lines == ["A", "B", "", "C", "D", "E"]
    assert job.cut_offsets == [data.index(GS + b"V"), data.index(ESC + b"i")]
    assert job.line_ends == [1, 3, 6, 8, 13, len(data)]


def test_cancel_drops_the_line_it_cancels() -> None:
    assert decode_job(b"WRONG\x18RIGHT\n").lines == ["RIGHT"]


@pytest.mark.parametrize(
    ("dialect", "cuts"),
    [("epson", [7]), ("star-line", [0, 3])],
)
def test_the_cut_dialect_says_which_commands_cut(dialect: CutDialect, cuts: list[int]) -> None:
    data = ESC + b"d\x00" + ESC + b"d\x01" + b"x" + GS + b"V\x00" + ESC + b"d\x05"
    assert decode_job(data, cut_dialect=dialect).cut_offsets == cuts


def test_a_job_of_commands_only_has_no_text() -> None:
    job = decode_job(ESC + b"@" + b"   \n" + ESC + b"p\x00\x19\xfa")
    assert (job.has_text, job.has_image, job.cut_offsets) == (False, False, [])


#: whole commands from the table above, and text, to build streams from
_PIECES = [data for data, expected in COMMANDS if expected[0][0] != "text"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(_PIECES), st.text("Total 12,50€ab", min_size=1, max_size=8)),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=1),
)
def test_streams_built_of_known_commands_read_back_and_cut_short_are_refused(
    pieces: list[bytes | str], cut: int
) -> None:
    parts = [piece.encode("cp1252") if isinstance(piece, str) else piece for piece in pieces]
    data = b"".join(parts)
    commands = read_commands(data)
    assert b"".join(data[c.offset : c.offset + c.length] for c in commands) == data
    expected = [c.name for part in parts for c in read_commands(part) if c.name != "text"]
    assert [c.name for c in commands if c.name != "text"] == expected
    # the last command cut short: a command the job ends inside is refused, never misread
    if isinstance(pieces[-1], bytes):
        final = read_commands(parts[-1])[-1]
        if final.length > 1:
            keep = len(data) - len(parts[-1]) + final.offset + 1 + cut % (final.length - 1)
            with pytest.raises(StreamOutOfSync):
                read_commands(data[:keep])
