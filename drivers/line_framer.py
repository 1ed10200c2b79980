"""Cuts a serial reader's byte stream into scans: at CR, LF or CRLF, or after a quiet gap.

Pure (time is passed in), so the serial driver and its tests share one definition of a
frame. A frame is capped at ``MAX_RAW_SCAN_BYTES + 1`` so the pipeline can call it too long.
"""

from __future__ import annotations

from register_agent.readers.reader import MAX_RAW_SCAN_BYTES

_TERMINATORS = b"\r\n"


class LineFramer:
    """Collects bytes into frames.

    ``terminated=True``: CR, LF and CRLF end a frame (empty frames between them are
    dropped, which is what makes CRLF one terminator); a partial frame left quiet for
    ``gap_s`` is discarded, because gluing it to the next scan could make a wrong but
    valid card number. ``terminated=False``: a quiet gap of ``gap_s`` ends the frame.
    """

    def __init__(self, *, terminated: bool, gap_s: float) -> None:
        self._terminated = terminated
        self._gap_s = gap_s
        self._buffer = bytearray()
        self._last_byte_at = 0.0
        self.discarded = 0

    def feed(self, data: bytes, now: float) -> list[bytes]:
        """Frames completed by ``data`` (arriving at ``now``), and by the gap before it."""
        frames = self.idle(now)
        if data:
            self._last_byte_at = now
        for byte in data:
            if self._terminated and byte in _TERMINATORS:
                frames.extend(self._cut())
            else:
                self._append(byte)
        return frames

    def idle(self, now: float) -> list[bytes]:
        """Frames completed by silence: call when a read returned nothing."""
        if not self._buffer or now - self._last_byte_at < self._gap_s:
            return []
        if self._terminated:
            self.discarded += 1
            self._reset()
            return []
        return self._cut()

    def _append(self, byte: int) -> None:
        # Past the cap the bytes are dropped but the frame goes on to its terminator,
        # so one 10 KB line is one rejection, not ten.
        if len(self._buffer) <= MAX_RAW_SCAN_BYTES:
            self._buffer.append(byte)

    def _cut(self) -> list[bytes]:
        frame = bytes(self._buffer)
        self._reset()
        return [frame] if frame else []

    def _reset(self) -> None:
        self._buffer.clear()
