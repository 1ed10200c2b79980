"""The shop's logo on a real till: the agent in its own process, printing over TCP to the
virtual printer in another process (``support/printer_process.py``). The logo is converted
once, at start, to the printer's raster; each receipt starts with that raster (``GS v 0``);
a restart finds it on disk; the receipt preview PNG shows it; a missing logo costs the logo,
never a receipt, and doctor says what to do. Read from the printer's bytes, the agent's log,
the preview's pixels and the doctor's lines.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from register_agent.commands.doctor.device_checks import logo_check
from register_agent.config import AgentConfig, ReceiptConfig
from tests.conftest import Sandbox
from tests.support.agent_harness import TOKEN, AgentProcess
from tests.support.printer_process import PrinterProcess

CONVERTED = "receipt logo: "
#: the raster of an 80 mm TM-T20II: 576 dots, 72 bytes a row
ROW_BYTES = 72
#: the logo: a black frame 200 x 100 with a white hole of 100 x 50 in its middle
WIDE, HIGH = 200, 100


def draw_logo(path: Path) -> Path:
    picture = Image.new("RGBA", (WIDE, HIGH), (0, 0, 0, 255))
    ImageDraw.Draw(picture).rectangle((50, 25, 149, 74), fill=(255, 255, 255, 255))
    picture.save(path)
    return path


def with_logo(agent: AgentProcess, logo: Path) -> AgentProcess:
    with agent.config_path.open("a", encoding="utf-8") as config:
        config.write(f'\n[receipt]\nlogo = "{logo}"\nheader = ["Bakkerij Jansen"]\n')
    return agent


def raster_of(receipt: bytes) -> tuple[int, int, bytes]:
    """(bytes a row, rows, bits) of the receipt's ``GS v 0`` raster."""
    at = receipt.index(b"\x1dv0\x00")
    x = receipt[at + 4] + receipt[at + 5] * 256
    y = receipt[at + 6] + receipt[at + 7] * 256
    return x, y, receipt[at + 8 : at + 8 + x * y]


def conversions(agent: AgentProcess, start: int = 0) -> int:
    return sum(
        CONVERTED in line and "converted" in line for line in agent.log()[start:].splitlines()
    )


@pytest.fixture
def agent(
    sandbox_clean: Sandbox, printer: PrinterProcess, tmp_path: Path
) -> Iterator[AgentProcess]:
    till = AgentProcess(tmp_path, sandbox_clean, "v3", receipt_wait_s=0, printer=printer)
    try:
        yield till
    finally:
        till.close()


def test_the_logo_is_converted_once_and_heads_every_receipt(
    agent: AgentProcess, tmp_path: Path
) -> None:
    with_logo(agent, draw_logo(tmp_path / "logo.png")).start()
    for sale_id in ("logo-1", "logo-2"):
        agent.sell(sale_id, "4.50").raise_for_status()
    first, second = agent.wait_printed("logo-1"), agent.wait_printed("logo-2")

    x, y, bits = raster_of(first)
    assert (x, y) == (ROW_BYTES, HIGH)  # the paper's full width, the logo's own height
    ink = sum(bin(byte).count("1") for byte in bits)
    assert ink == WIDE * HIGH - 100 * 50  # pure black and white: no dither left over
    middle = bits[50 * ROW_BYTES : 51 * ROW_BYTES]  # a row through the hole
    assert middle[ROW_BYTES // 2 - 2 : ROW_BYTES // 2 + 2] == b"\0\0\0\0"  # white, centred
    assert first.index(b"\x1dv0") < first.index(b"Bakkerij")  # at the top
    assert raster_of(second) == (x, y, bits)
    # the sale's id and time, in the small font, as the printer received them
    assert re.search(rb"\x1bM\x01Sale logo-2 +\d{4}-\d\d-\d\d \d\d:\d\d\n\x1bM\x00", second)
    assert conversions(agent) == 1, agent.log()  # at start, never again for a receipt

    agent.stop()
    restarted = len(agent.log())
    agent.start()
    agent.sell("logo-3", "4.50").raise_for_status()
    assert raster_of(agent.wait_printed("logo-3")) == (x, y, bits)
    assert conversions(agent, restarted) == 0  # from the state directory's cache
    assert list((agent.state_dir / "logo-cache").glob("logo-*-576.raster"))


def test_a_missing_logo_costs_the_logo_not_the_receipt(agent: AgentProcess, tmp_path: Path) -> None:
    with_logo(agent, tmp_path / "gone.png").start()
    agent.sell("nologo-1", "4.50").raise_for_status()
    receipt = agent.wait_printed("nologo-1")
    assert b"\x1dv0" not in receipt
    assert b"Bakkerij" in receipt
    assert "gone.png cannot be read" in agent.log()


def test_the_preview_shows_the_logo(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    logo = draw_logo(tmp_path / "logo.png")
    config.write_text(f'[receipt]\nlogo = "{logo}"\n', encoding="utf-8")
    preview = tmp_path / "preview.png"
    command = ["--config", str(config), "print-test", "--preview", str(preview)]
    done = subprocess.run(
        [sys.executable, "-m", "register_agent", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "REGISTER_AGENT_LOCAL_API__TOKEN": TOKEN},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    image = Image.open(preview).convert("L")
    top = image.crop((0, 0, image.width, 16 + HIGH))  # the margin, then the logo
    box = top.point(lambda value: 255 if value < 128 else 0).getbbox()  # of the ink
    assert box is not None
    left, upper, right, lower = box
    assert (right - left, lower - upper) == (WIDE, HIGH)  # the logo, at its size
    assert abs((left + right) - image.width) <= 2  # centred
    hole = image.getpixel(((left + right) // 2, (upper + lower) // 2))
    frame = image.getpixel((left + 10, upper + 10))
    assert (hole, frame) == (255, 0)


@pytest.mark.parametrize(
    ("content", "said"), [(None, "cannot be read"), (b"not a picture", "not a picture")]
)
def test_doctor_says_what_is_wrong_with_the_logo(
    tmp_path: Path, content: bytes | None, said: str
) -> None:
    logo = tmp_path / "logo.png"
    if content is not None:
        logo.write_bytes(content)
    check = logo_check(AgentConfig(receipt=ReceiptConfig(logo=logo)))
    assert check.verdict == "FAIL"
    assert said in check.detail
    assert "[receipt] logo" in check.fix
    draw_logo(logo)
    assert logo_check(AgentConfig(receipt=ReceiptConfig(logo=logo))).verdict == "PASS"
