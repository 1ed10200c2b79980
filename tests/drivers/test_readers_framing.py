"""How a serial byte stream is cut into scans, with time passed in by hand."""

from __future__ import annotations

from drivers.line_framer import LineFramer
from register_agent.readers.reader import MAX_RAW_SCAN_BYTES


def test_terminators_in_any_mix_and_split_across_reads() -> None:
    framer = LineFramer(terminated=True, gap_s=0.2)
    assert framer.feed(b"AB", 0.0) == []
    assert framer.feed(b"CD\r", 0.01) == [b"ABCD"]
    assert framer.feed(b"\nEF\n\r\nGH\r", 0.02) == [b"EF", b"GH"]


def test_an_unfinished_line_left_quiet_is_dropped_not_glued_to_the_next() -> None:
    framer = LineFramer(terminated=True, gap_s=0.2)
    assert framer.feed(b"40063", 0.0) == []
    assert framer.idle(0.1) == []
    assert framer.feed(b"81333931\r", 0.5) == [b"81333931"]
    assert framer.discarded == 1


def test_without_terminator_a_quiet_gap_ends_the_scan() -> None:
    framer = LineFramer(terminated=False, gap_s=0.05)
    assert framer.feed(b"04A2", 0.0) == []
    assert framer.feed(b"3B1C", 0.01) == []
    assert framer.idle(0.03) == []
    assert framer.idle(0.07) == [b"04A23B1C"]
    assert framer.feed(b"\r\n", 0.2) == []  # CR/LF are data here; nothing to cut yet
    assert framer.idle(0.3) == [b"\r\n"]  # and the pipeline rejects them


def test_an_endless_line_is_one_capped_frame() -> None:
    framer = LineFramer(terminated=True, gap_s=0.2)
    for step in range(10):
        assert framer.feed(b"A" * 1024, step * 0.001) == []
    (frame,) = framer.feed(b"\r", 0.02)
    assert len(frame) == MAX_RAW_SCAN_BYTES + 1
