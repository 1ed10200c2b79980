"""The reader on jobs no one here wrote: the recorded corpus (``tests/fixtures/escpos/``,
README there) and the streams python-escpos writes (``tests/support/escpos_streams.py``).

Each job must come apart into commands that put it back together byte for byte, and its
text must read as printed, with no byte of an image, a bar code or a QR code taken for text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from register_agent.passthrough.escpos_reader import decode_job, read_commands
from tests.support.escpos_streams import STREAMS

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "escpos"

#: file -> (words and amounts its text shows, commands it must hold)
RECORDED: dict[str, tuple[list[str], set[str]]] = {
    "escpos-tools-receipt-with-logo.bin": (
        ["ExampleMart Ltd.", "SALES INVOICE", "Subtotal", "12.95", "$ 14.25"],
        {"GS ( L", "GS V", "ESC p"},
    ),
    "escpos-php-barcode.bin": (["Height and bar width", "Width 4"], {"GS k"}),
    "escpos-php-bit-image.bin": (["Regular Tux (bit image).", "Large Tux"], {"GS v 0"}),
    "escpos-php-character-encodings.bin": (
        ["jordbær med fløde", "Falsches Üben von Xylophonmusik quält", "El pingüino"],
        {"ESC t"},
    ),
    "escpos-php-character-tables.bin": (["Table 0: CP437", "ÇüéâäàåçêëèïîìÄÅÉæÆ"], {"ESC t"}),
    "escpos-php-demo.bin": (["Hello world", "ABCDEFGHIJabcdefghijk"], {"GS v 0", "GS ( k"}),
    "escpos-php-graphics.bin": (["Regular Tux.", "Large Tux in correct proportion."], {"GS ( L"}),
    "escpos-php-margins-and-spacing.bin": (["left margin 512"], {"GS L"}),
    "escpos-php-pdf417-code.bin": (["PDF417 code demo", "Error correction ratio 0.5"], {"GS ( k"}),
    "escpos-php-qr-code.bin": (["QR code demo", "Error correction H"], {"GS ( k"}),
    "escpos-php-text-size.bin": (["Change height & width", "12345678"], {"GS !"}),
    "escpos-php-unifont-print-buffer.bin": ([], {"ESC &", "ESC %"}),
    # a Chinese restaurant's bill in the printer's two-byte mode: read as single bytes, the
    # amounts and dates still show
    "escposparser-receipt-text.bin": (["40.00", "28.00", "68.00", "2016-5-6   21:32:49"], {"FS &"}),
}


def test_every_recorded_file_is_listed_here_and_in_the_readme() -> None:
    files = {path.name for path in CORPUS.glob("*.bin")}
    assert files == set(RECORDED)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in files)


def _rebuilt(data: bytes) -> bytes:
    commands = read_commands(data)
    offsets = [command.offset for command in commands]
    assert offsets == sorted(offsets)
    return b"".join(data[c.offset : c.offset + c.length] for c in commands)


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_a_recorded_job_comes_apart_and_back_byte_exact(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    assert _rebuilt(data) == data


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_a_recorded_job_reads_as_printed(name: str) -> None:
    words, commands = RECORDED[name]
    job = decode_job((CORPUS / name).read_bytes())
    text = "\n".join(job.lines)
    assert [word for word in words if word not in text] == []
    assert commands <= {command.name for command in job.commands}
    assert job.cut_offsets, "every recorded job ends with a cut"


def test_a_chinese_bill_reads_in_the_two_byte_code_page_the_config_names() -> None:
    job = decode_job(
        (CORPUS / "escposparser-receipt-text.bin").read_bytes(), multibyte_code_page="gb18030"
    )
    assert "客人就餐消费单" in job.lines
    assert "应收金额\uff1a68.00" in [line.strip() for line in job.lines]  # a full-width colon


def test_a_logo_before_the_text_is_no_text() -> None:
    job = decode_job((CORPUS / "escpos-tools-receipt-with-logo.bin").read_bytes())
    # The 9 KB logo comes first; a reader that read its bytes as text would print lines of
    # NULs and 0xFF before the shop's name.
    assert next(line for line in job.lines if line.strip()) == "ExampleMart Ltd."
    assert job.has_image


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_a_python_escpos_job_comes_apart_and_back_and_reads_as_printed(name: str) -> None:
    make, words = STREAMS[name]
    data = make()
    assert _rebuilt(data) == data
    job = decode_job(data)
    text = "\n".join(job.lines)
    assert [word for word in words if word not in text] == []
    # each picture says TOTAL 99,99 in its pixels: none of it may come out as text
    assert "99,99" not in text


def test_python_escpos_images_are_read_by_their_lengths() -> None:
    job = decode_job(STREAMS["images_receipt"][0]())
    names = [command.name for command in job.commands if command.name not in ("text", "LF")]
    assert {"GS v 0", "GS ( L", "ESC *"} <= set(names)
    assert [line for line in job.lines if line.strip()] == ["Bedankt voor uw bezoek"]


def test_a_receipt_printed_as_a_picture_has_no_text() -> None:
    job = decode_job(STREAMS["raster_only_receipt"][0]())
    assert (job.has_text, job.has_image, job.lines) == (False, True, [])
