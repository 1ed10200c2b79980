"""``register-agent passthrough-test FILE`` and ``passthrough-learn``: the installer's tools for
the receipt pass-through (``register_agent/passthrough/``).

``passthrough-test`` reads a recorded job with this till's settings and template (or
``--template FILE.toml``) and says, in the installer's words, what the pass-through would do
with it: the total it would credit, the receipt number, whether it is a copy, where the
loyalty block would go, or why the job would be printed untouched. ``passthrough-learn``
(``passthrough_learn.py``) records a job from the till and proposes the template.
"""

from __future__ import annotations

import argparse
import difflib
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from register_agent.errors import ConfigError

if TYPE_CHECKING:  # imported when a command runs: `register-agent --help` stays fast
    from register_agent.config import PassthroughConfig, ReceiptTemplate
    from register_agent.passthrough.escpos_reader import DecodedJob
    from register_agent.passthrough.template import FoundReceipt, Unmatched

#: Unmatched's reasons in the installer's words: what happens, and what to do about it
REASONS = {
    "out_of_sync": "the job holds a command the reader does not know, so it cannot tell "
    "text from pictures; such jobs print untouched (tell us the printer model)",
    "no_text": "the job prints no text (a drawer pulse or a status query only)",
    "raster_only": "the receipt is printed as a picture (the till's driver renders it as an "
    "image), so there is no text to read the total from; set the till's printer driver to "
    "a text (ESC/POS, 'generic text') driver if it has one",
    "all_skipped": "every receipt in the job matched a skip pattern of the template",
    "no_total": "no line matched a total pattern; compare the numbered lines above with "
    "[passthrough.template] total, or run passthrough-learn for a proposal",
    "bad_amount": "the total's text is not an amount (a pattern's (?P<total>...) group "
    "caught more or less than the amount)",
    "not_positive": "the total is zero or negative (a refund or a void): it never credits",
}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    test = commands.add_parser(
        "passthrough-test",
        help="say what the pass-through finds in a recorded print job (total, block, or why not)",
    )
    test.add_argument("file", type=Path, help="a recorded job (passthrough-learn writes one)")
    test.add_argument(
        "--template",
        type=Path,
        default=None,
        help="a TOML file with a [passthrough.template] table (default: the config's)",
    )
    test.set_defaults(handler=passthrough_test_command)


def passthrough_test_command(args: argparse.Namespace) -> int:
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)

    passthrough = load_config(args.config).passthrough
    if args.template is not None:
        passthrough = passthrough.model_copy(update={"template": load_template(args.template)})
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{args.file}: cannot be read ({exc.strerror})") from None
    return 0 if report_job(args.file.name, data, passthrough) else 1


def load_template(path: Path) -> ReceiptTemplate:
    """A template from a file: a ``[passthrough.template]`` table, as passthrough-learn
    writes it and the config holds it, or its keys at the top of the file."""
    from pydantic import ValidationError  # noqa: PLC0415

    from register_agent.config import ReceiptTemplate  # noqa: PLC0415

    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file and try again") from None
    if "passthrough" in table:  # a config file, or passthrough-learn's table
        table = table["passthrough"].get("template")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: has no [passthrough.template] table; add one")
    try:
        return ReceiptTemplate.model_validate(table)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors(include_input=False, include_url=False)]
        raise ConfigError(f"{path}: the template is not valid:\n" + "\n".join(problems)) from None


def _problem(error: Any) -> str:
    """One line per mistake: the key, and what to do (a misspelt key gets the close name)."""
    from register_agent.config import ReceiptTemplate  # noqa: PLC0415

    key = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, list(ReceiptTemplate.model_fields), n=1)
        message = f"unknown key; did you mean '{close[0]}'?" if close else "unknown key"
    return f"  template.{key}: {message}"


def report_job(name: str, data: bytes, passthrough: PassthroughConfig) -> bool:
    """Print the job's lines and what the pass-through would do; True when it credits."""
    from register_agent.passthrough.escpos_reader import StreamOutOfSync  # noqa: PLC0415
    from register_agent.passthrough.template import (  # noqa: PLC0415
        FoundReceipt,
        decode_for,
        find_sale,
    )

    try:
        job = decode_for(data, passthrough)
    except StreamOutOfSync as exc:
        print(
            f"{name}: {len(data)} bytes; the reader lost its way at byte {exc.offset}: {exc.reason}"
        )
        print(f"nothing found: {REASONS['out_of_sync']}")
        return False
    cuts = len(job.cut_offsets)
    print(f"{name}: {len(data)} bytes, {len(job.commands)} commands, {cuts} cut(s)")
    show_lines(job)
    found = find_sale(job, passthrough.template)
    print(describe(found))
    return isinstance(found, FoundReceipt) and not found.is_copy


def show_lines(job: DecodedJob) -> None:
    """The job's printed lines, numbered from 1 as the template's messages count them, with
    each cut where it falls."""
    cuts = list(job.cut_offsets)
    for number, (line, end) in enumerate(zip(job.lines, job.line_ends, strict=True), start=1):
        while cuts and cuts[0] < end:
            print(f"      ---- cut at byte {cuts.pop(0)} ----")
        print(f"{number:>4}  {line}")
        if cuts and cuts[0] == end:
            print(f"      ---- cut at byte {cuts.pop(0)} ----")
    for cut in cuts:
        print(f"      ---- cut at byte {cut} ----")


def describe(found: FoundReceipt | Unmatched) -> str:
    """What the pass-through does with this job, in the installer's words."""
    from register_agent.passthrough.template import Unmatched  # noqa: PLC0415

    if isinstance(found, Unmatched):
        return f"nothing found ({found.reason}): {REASONS.get(found.reason, found.reason)}"
    number = found.receipt_no or "none printed (a digest of the job stands in for it)"
    kind = (
        "a COPY or reprint: it never credits, the block says so"
        if found.is_copy
        else "an original: a scanned card gets the credits"
    )
    if found.cut_offset is None:
        where = "at the end of the job (the receipt has no cut of its own)"
    else:
        where = f"before the cut at byte {found.cut_offset}"
    return (
        f"found the sale: total {found.total}, receipt number {number}\n"
        f"this receipt is {kind}\n"
        f"the loyalty block goes {where}"
    )
