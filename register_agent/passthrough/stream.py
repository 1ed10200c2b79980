"""One till connection's bytes on their way to the printer: what may go at once, and the
cuts the relay holds back until it knows the loyalty block that goes before them.

The relay (``relay.py``) feeds the bytes as the socket delivers them. Complete commands are
read with ptreader's command-aware reader; everything before the next cut goes to the
printer at once, so the receipt prints while the till still sends it. A command cut short
by the end of what has arrived waits for its end, unless it is already longer than any cut
(a raster's payload streams on). Real-time commands and drawer pulses that arrive while a
cut is held go ahead of it (``urgent``): a printer runs a real-time command the moment it
receives it anyway, and a drawer must open when the till says so. A stream the reader
cannot follow is passed on byte for byte from there (``lost``).

A printer in Star Line Mode (``cut_dialect = "star-line"``) has every job passed on byte
for byte from its first byte (``star_line``): the reader knows ESC/POS only (Star Line
Mode's command lengths are not in its table, ``escpos_table.py``), and the block is ESC/POS,
which such a printer would print as garbage.
"""

from __future__ import annotations

from collections import deque

from register_agent.config.passthrough import CutDialect
from register_agent.passthrough.code_pages import is_cut
from register_agent.passthrough.escpos_reader import CommandReader, StreamOutOfSync

#: no cut command (GS V m n, ESC i, ESC m, a dialect's) is longer: a longer partial command
#: is a payload, never a cut, and may stream on before its end arrives
LONGEST_CUT = 8
#: sent ahead of a held cut: real-time commands and the drawer pulse (ESC p)
_URGENT_PREFIXES = (b"\x10\x04", b"\x10\x05", b"\x10\x14", b"\x1bp")


class JobStream:
    """The till's bytes of one connection: parsed, sent, and the cuts held."""

    def __init__(self, cut_dialect: CutDialect = "epson") -> None:
        self.data = bytearray()
        self._dialect = cut_dialect
        self._reader = CommandReader()
        self._parsed = 0  # every command before this offset is complete and read
        self._sent = 0  # every byte before this offset went to the printer (or ahead)
        self._cuts: deque[tuple[int, int]] = deque()  # (offset, end) of cuts not released
        self._urgent: list[tuple[int, int]] = []  # complete urgent commands past a held cut
        self._ahead: dict[int, int] = {}  # offset -> end of commands already sent ahead
        #: why the reader gave up on this stream (or never read it)
        self.lost: str | None = "star_line" if cut_dialect == "star-line" else None
        self._last_text = -1  # where the last text that prints something starts

    def feed(self, chunk: bytes) -> None:
        self.data += chunk
        if self.lost is None:
            self._parse(chunk)

    def give_up(self, reason: str) -> None:
        """Pass everything on untouched from here (fail open)."""
        self.lost = self.lost or reason
        self._cuts.clear()

    @property
    def held_cut(self) -> tuple[int, int] | None:
        """The cut that waits for its loyalty block, once every byte before it is sent."""
        if self._cuts and self._sent >= self._cuts[0][0]:
            return self._cuts[0]
        return None

    def printed_after(self, offset: int) -> bool:
        """Whether text that prints something came after ``offset`` (another receipt)."""
        return self._last_text >= offset

    def release_cut(self) -> None:
        self._cuts.popleft()

    def take(self) -> bytes:
        """The bytes that may go to the printer now."""
        if self.lost is not None:
            limit = len(self.data)
        elif self._cuts:
            limit = self._cuts[0][0]  # nothing passes a held cut but the urgent commands
        elif len(self.data) - self._parsed >= LONGEST_CUT:
            limit = len(self.data)  # a payload streaming in: it holds no cut
        else:
            limit = self._parsed
        return self._slice_to(limit)

    def rest(self) -> bytes:
        """Everything not sent yet (the job ended: a command left unfinished goes as is)."""
        return self._slice_to(len(self.data))

    def urgent(self) -> bytes:
        """Real-time commands and drawer pulses that arrived behind a held cut."""
        if self.held_cut is None or self.lost is not None:
            return b""
        out = bytearray()
        for start, end in self._urgent:
            if start >= self._sent and start not in self._ahead:
                self._ahead[start] = end
                out += self.data[start:end]
        self._urgent.clear()
        return bytes(out)

    def _slice_to(self, limit: int) -> bytes:
        out = bytearray()
        position = self._sent
        while position < limit:
            end = self._ahead.pop(position, None)
            if end is not None:  # sent ahead already: skip it
                position = end
                continue
            following = min((o for o in self._ahead if o > position), default=limit)
            stop = min(limit, following)
            out += self.data[position:stop]
            position = stop
        self._sent = max(self._sent, position)
        return bytes(out)

    def _parse(self, chunk: bytes) -> None:
        try:
            commands = self._reader.feed(chunk)
        except StreamOutOfSync:
            self.give_up("out_of_sync")
            return
        data = bytes(self.data)
        for command in commands:
            start, end = command.offset, command.offset + command.length
            if command.name == "text" and data[start:end].strip():
                self._last_text = start
            if is_cut(command, data, self._dialect):
                self._cuts.append((start, end))
            behind_cut = bool(self._cuts) and start > self._cuts[0][0]
            head = data[start : start + 2]
            if behind_cut and (command.realtime or head in _URGENT_PREFIXES):
                self._urgent.append((start, end))
            self._parsed = end

    def done(self) -> bool:
        """Every byte went to the printer."""
        return self._sent >= len(self.data) and not self._ahead
