"""The relay's view of a till's bytes (``passthrough/stream.py``): whatever the chunks, the
bytes that leave are the bytes that came, in order, with every cut held until released, and
real-time commands and drawer pulses sent ahead of a held cut."""

from __future__ import annotations

from pathlib import Path

import pytest

from register_agent.passthrough.stream import JobStream

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "escpos"
JOBS = sorted(FIXTURES.glob("*.bin"))


def relayed(data: bytes, chunk: int) -> tuple[bytes, list[int]]:
    """Feed ``data`` in chunks, releasing each cut as it is held; the bytes out and where
    each held cut was."""
    stream, out, cuts = JobStream(), bytearray(), []
    for at in range(0, len(data), chunk):
        stream.feed(data[at : at + chunk])
        while True:
            out += stream.take()
            held = stream.held_cut
            if held is None:
                break
            assert len(out) == held[0], "bytes past a held cut left"
            cuts.append(held[0])
            stream.release_cut()
    out += stream.rest()
    return bytes(out), cuts


@pytest.mark.parametrize("chunk", [1, 7, 4096])
@pytest.mark.parametrize("path", JOBS, ids=[path.name for path in JOBS])
def test_every_byte_leaves_once_in_order_and_every_cut_is_held(path: Path, chunk: int) -> None:
    data = path.read_bytes()
    out, cuts = relayed(data, chunk)
    assert out == data
    assert all(data[cut : cut + 2] in (b"\x1dV", b"\x1bi", b"\x1bm") for cut in cuts)


def test_a_stream_the_reader_cannot_follow_goes_on_untouched() -> None:
    data = b"Total 12,50\n\x1d\xfe\x01garbage\x1dV\x00"
    out, cuts = relayed(data, 3)
    assert out == data
    assert cuts == []  # not a cut the reader could trust


def test_real_time_commands_and_the_drawer_go_ahead_of_a_held_cut() -> None:
    stream = JobStream()
    stream.feed(b"Total 5,00\n\x1dV\x00after\x10\x04\x01\x1bp\x00\x19\xfamore")
    assert stream.take() == b"Total 5,00\n"
    assert stream.held_cut == (11, 14)
    assert stream.urgent() == b"\x10\x04\x01\x1bp\x00\x19\xfa"
    stream.release_cut()
    assert stream.take() + stream.rest() == b"\x1dV\x00aftermore"  # each byte once
