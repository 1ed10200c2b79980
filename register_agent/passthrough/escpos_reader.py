"""The pass-through's reader of an ESC/POS job: the commands a till sent, and the text they print.

The relay hands it the bytes of one job (whole, or chunk by chunk as they arrive); the
reader splits them into commands with the lengths of ``escpos_table.py``, so that the
concatenation of the commands is the job, byte for byte, and image or QR payloads are never
taken for text. ``decode_job`` then reads the printed lines in the code page ``ESC t`` chose
and notes where each cut is; the template (``template.py``) looks for the sale in those
lines. Anything the reader cannot place raises ``StreamOutOfSync``: the relay then passes
the job on untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from register_agent.config.passthrough import CutDialect
from register_agent.passthrough import escpos_table
from register_agent.passthrough.code_pages import TextDecoder, is_cut


@dataclass(frozen=True)
class Command:
    """One command of a job: where it starts, how many bytes it has (payload included)."""

    offset: int
    length: int
    #: "text", "LF", "ESC @", "GS V", "GS v 0", "DLE EOT", "ESC p", ...
    name: str
    #: DLE EOT / DLE ENQ / DLE DC4: the printer answers at once, so the relay never holds it
    realtime: bool = False


class StreamOutOfSync(Exception):
    """The job holds a command the reader does not know, or ends inside one."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"ESC/POS stream out of sync at byte {offset}: {reason}")
        self.offset = offset
        self.reason = reason


class CommandReader:
    """Reads a job fed in pieces (a socket's chunks); ``feed`` gives the complete commands.

    A command cut in two by a chunk boundary waits for the next chunk; a text run is given
    as far as it has come, so text may arrive as several ``text`` commands in a row.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._offset = 0  # where _pending starts in the job

    def feed(self, chunk: bytes) -> list[Command]:
        data = self._pending + chunk
        commands, used = _read(data, self._offset, final=False)
        self._pending = data[used:]
        self._offset += used
        return commands

    def close(self) -> None:
        """The job has ended: a command still waiting for bytes was cut short."""
        if self._pending:
            _read(self._pending, self._offset, final=True)

    @property
    def offset(self) -> int:
        """How many bytes of the job have been given out as commands."""
        return self._offset


def read_commands(data: bytes) -> list[Command]:
    """Every command of a whole job, in order, covering each byte exactly once."""
    commands, _ = _read(data, 0, final=True)
    return commands


def _read(data: bytes, base: int, *, final: bool) -> tuple[list[Command], int]:
    """Commands from the start of ``data`` (which sits at ``base`` in the job).

    Returns the commands and how many bytes they cover; with ``final`` a command the data
    ends inside is an error, otherwise it is left for more data.
    """
    commands: list[Command] = []
    pos, size = 0, len(data)
    while pos < size:
        run = escpos_table.TEXT_RUN.match(data, pos)
        if run is not None:
            commands.append(Command(base + pos, run.end() - pos, "text"))
            pos = run.end()
            continue
        try:
            measured = escpos_table.measure(data, pos)
        except escpos_table.UnknownCommand as exc:
            raise StreamOutOfSync(base + pos, exc.reason) from None
        if measured is None:
            if final:
                raise StreamOutOfSync(
                    base + pos, f"truncated: the job ends inside {_started(data, pos)}"
                )
            break
        name, length = measured
        commands.append(Command(base + pos, length, name, name in escpos_table.REALTIME))
        pos += length
    return commands, pos


def _started(data: bytes, pos: int) -> str:
    """The command the job ends inside, by its first bytes, for the message."""
    return "a command " + " ".join(f"{byte:02X}" for byte in data[pos : pos + 3])


@dataclass(frozen=True)
class DecodedJob:
    """A job read: its commands, the lines it prints, and where it cuts the paper."""

    commands: list[Command]
    #: the printed text, one entry per printed line, in the code page ``ESC t`` selected
    lines: list[str]
    #: the offset of each cut command (``GS V``, ``ESC i``, ``ESC m`` or the dialect's)
    cut_offsets: list[int]
    #: some command printed a character other than a space
    has_text: bool
    #: the offset in the job where each of ``lines`` ended (its LF, feed or cut)
    line_ends: list[int] = field(default_factory=list)
    #: some command printed an image (raster, bit image, NV or downloaded graphics)
    has_image: bool = False


#: commands that end the current line: print and feed, form feed, page mode's print
_LINE_ENDS = frozenset({"LF", "FF", "ESC FF", "ESC d", "ESC J", "ESC e"})
#: commands that print a picture; a receipt printed as pictures holds no text to read
IMAGE_COMMANDS = frozenset({"GS v 0", "GS Q 0", "GS ( L", "GS 8 L", "ESC *", "GS /", "FS p"})


def decode_job(
    data: bytes,
    code_pages: Mapping[int, str] | None = None,
    cut_dialect: CutDialect = "epson",
    multibyte_code_page: str | None = None,
) -> DecodedJob:
    """Read a whole job: its commands (``read_commands``) and what they print.

    ``code_pages`` maps this printer model's ``ESC t`` numbers to Python codec names, over
    the Epson numbering; ``multibyte_code_page`` is the codec of its two-byte (Kanji,
    Chinese) mode. Raises ``StreamOutOfSync`` as ``read_commands`` does.
    """
    commands = read_commands(data)
    lines: list[str] = []
    line_ends: list[int] = []
    cuts: list[int] = []
    current: list[str] = []
    decoder = TextDecoder(code_pages, multibyte_code_page)
    has_text = has_image = False

    def end_line(offset: int, *, always: bool) -> None:
        nonlocal current
        if current or always:
            lines.append("".join(current).rstrip())
            line_ends.append(offset)
            current = []

    for command in commands:
        name = command.name
        if name == "text":
            piece = data[command.offset : command.offset + command.length]
            text = decoder.decode(piece).replace("\t", " ")
            has_text = has_text or bool(text.strip())
            current.append(text)
        elif name == "LF":
            end_line(command.offset, always=True)
        elif name in _LINE_ENDS:
            end_line(command.offset, always=False)
        elif name == "ESC t":
            decoder.select_table(data[command.offset + 2])
        elif name == "ESC R":
            decoder.select_international(data[command.offset + 2])
        elif name in ("FS &", "FS ."):
            decoder.multibyte(on=name == "FS &")
        elif name == "ESC @":
            decoder.reset()
        elif name == "CAN":  # cancels the data of the current page: nothing of it prints
            current = []
        if is_cut(command, data, cut_dialect):
            end_line(command.offset, always=False)
            cuts.append(command.offset)
        has_image = has_image or name in IMAGE_COMMANDS
    end_line(len(data), always=False)
    return DecodedJob(commands, lines, cuts, has_text, line_ends, has_image)
