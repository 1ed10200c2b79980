"""What a printer model's numbers mean to the pass-through reader: the code page each
``ESC t n`` selects, and which commands cut the paper.

The reader (``escpos_reader.py``) decodes text with ``codec_for`` and marks cuts with
``is_cut``; ``[passthrough] code_pages`` and ``cut_dialect`` (``register_agent/config``)
adjust both to a model that numbers its tables, or cuts, differently from Epson.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import TYPE_CHECKING

from register_agent.config.passthrough import CutDialect

if TYPE_CHECKING:
    from register_agent.passthrough.escpos_reader import Command

#: Epson's ``ESC t`` numbering (ESC/POS reference, "Select character code table"), as
#: Python codec names; the tables Python has no codec for (Katakana, Thai, PC851, ...) are
#: left out and read as ASCII
EPSON_CODE_PAGES: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    13: "cp857",
    14: "cp737",
    15: "iso8859_7",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
    32: "cp720",
    33: "cp775",
    34: "cp855",
    35: "cp861",
    36: "cp862",
    37: "cp864",
    38: "cp869",
    39: "iso8859_2",
    40: "iso8859_15",
    44: "cp1125",
    45: "cp1250",
    46: "cp1251",
    47: "cp1253",
    48: "cp1254",
    49: "cp1255",
    50: "cp1256",
    51: "cp1257",
    52: "cp1258",
    53: "kz1048",
}

#: a table neither Epson's numbering nor the config names: its ASCII half still reads
#: (amounts, TOTAL), the rest shows as U+FFFD rather than as a wrong letter
UNKNOWN_TABLE_CODEC = "ascii"

_EPSON_CUTS = frozenset({"GS V", "ESC i", "ESC m"})

#: the twelve ASCII characters an international character set (``ESC R n``) prints otherwise
_REPLACED = "#$@[\\]^`{|}~"
#: What each set prints in their place, in that order (codes 23, 24, 40, 5B, 5C, 5D, 5E, 60,
#: 7B, 7C, 7D, 7E hex), for Epson's ESC/POS numbering n = 0 to 16. Checked against two
#: public sources: kunif/EscPosUtils (zlib licence; github.com/kunif/EscPosUtils,
#: ``EscPosUtils/DecodeCodePage.cs``), whose ESC/POS decoder tables the characters each set
#: prints, and, for sets 0 to 8, the "International Character Mapping" table of Printek's
#: FormsMaster manual (Epson FX emulation; marine.manualsonline.com, printek formsmaster
#: 8000, page 34). Where they differ we follow the ESC/POS one: Spain I and II print an
#: acute accent (U+00B4) at 60h, where the FX (ESC/P, dot matrix) table keeps the grave
#: accent. Corrected after that check: China prints its yuan sign at 24h (where $ is, as in
#: China's ISO 646 variant, GB 1988), not at 5Ch (Japan's yen); Vietnam prints the dong
#: sign at 23h (#), not at 24h. Models number fewer sets (Samsung's SRP-275 manual: 0 to
#: 10; Brother's ESC/P reference: 0 to 13 and 64 "Legal"), with the same characters.
INTERNATIONAL_SETS: dict[int, str] = {
    0: _REPLACED,  # U.S.A.
    1: "#$à°ç§^`éùè¨",  # France
    2: "#$§ÄÖÜ^`äöüß",  # Germany
    3: "£$@[\\]^`{|}~",  # U.K.
    4: "#$@ÆØÅ^`æøå~",  # Denmark I
    5: "#¤ÉÄÖÅÜéäöåü",  # Sweden
    6: "#$@°\\é^ùàòèì",  # Italy
    7: "₧$@¡Ñ¿^\u00b4¨ñ}~",  # Spain I
    8: "#$@[¥]^`{|}~",  # Japan
    9: "#¤ÉÆØÅÜéæøåü",  # Norway
    10: "#$ÉÆØÅÜéæøåü",  # Denmark II
    11: "#$á¡Ñ¿é\u00b4íñóú",  # Spain II
    12: "#$á¡Ñ¿éüíñóú",  # Latin America
    13: "#$@[₩]^`{|}~",  # Korea
    14: "#$ŽŠĐĆČžšđćč",  # Slovenia / Croatia
    15: "#¥@[\\]^`{|}~",  # China
    16: "₫$@[\\]^`{|}~",  # Vietnam
}
_SWAPS = {number: str.maketrans(_REPLACED, chars) for number, chars in INTERNATIONAL_SETS.items()}
#: Arabia (17) swaps two codes outside the twelve, by the same ESC/POS source: the Arabic
#: percent sign at 25h and the Arabic five-pointed star at 2Ah.
_SWAPS[17] = str.maketrans("%*", "\u066a\u066d")
# Decision, India's sets (66 to 75, 82 Marathi; 82 is not South Africa): they print the
# digits 30h to 39h in the script's own numerals. The reader keeps ASCII digits for them:
# the amount and the receipt number are what the till meant, and a template's [0-9] and
# the installer's eye read them so; nothing else in those sets changes.


def codec_for(number: int, overrides: Mapping[int, str] | None = None) -> str:
    """The codec of table ``number``: the model's own numbering first, then Epson's."""
    if overrides and number in overrides:
        return overrides[number]
    return EPSON_CODE_PAGES.get(number, UNKNOWN_TABLE_CODEC)


class TextDecoder:
    """The code page in force as a job goes on: the table ``ESC t`` selected, or the
    two-byte character mode ``FS &`` turns on (``FS .`` off) when the model has one."""

    def __init__(self, overrides: Mapping[int, str] | None, multibyte: str | None) -> None:
        self._overrides = overrides
        self._multibyte = multibyte
        self._table = codec_for(0, overrides)
        self._in_multibyte = False
        self._decoder = codecs.getincrementaldecoder(self._table)("replace")
        self._swap: dict[int, int] | None = None  # the international set's characters

    def select_table(self, number: int) -> None:
        self._table = codec_for(number, self._overrides)
        if not self._in_multibyte:
            self._use(self._table)

    def multibyte(self, *, on: bool) -> None:
        # Without a two-byte code page in the config the mode changes nothing: amounts and
        # the ASCII half still read in the single-byte table.
        if self._multibyte is None:
            return
        self._in_multibyte = on
        self._use(self._multibyte if on else self._table)

    def select_international(self, number: int) -> None:
        """``ESC R n``: the characters set ``n`` prints for ASCII's #, $, @, [ ... ~."""
        self._swap = _SWAPS.get(number) if number else None

    def reset(self) -> None:
        """``ESC @``: table 0, the U.S.A. set, two-byte mode off."""
        self._in_multibyte = False
        self._swap = None
        self.select_table(0)

    def decode(self, piece: bytes) -> str:
        text = self._decoder.decode(piece)
        # every single-byte table has ASCII's characters at their ASCII codes only, so
        # swapping the decoded characters is swapping those codes
        return text.translate(self._swap) if self._swap and not self._in_multibyte else text

    def _use(self, codec: str) -> None:
        self._decoder = codecs.getincrementaldecoder(codec)("replace")


def is_cut(command: Command, data: bytes, dialect: CutDialect) -> bool:
    """Whether ``command`` cuts the paper on a printer of ``dialect``."""
    if dialect == "star-line":
        return command.name == "ESC d" and data[command.offset + 2] <= 3
    return command.name in _EPSON_CUTS
