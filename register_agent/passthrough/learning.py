"""A first template from one recorded job, for the installer to confirm.

``register-agent passthrough-learn`` records the next job the till prints and asks
``propose_template`` what ``[passthrough.template]`` would find its total: the line with
the largest amount after a word such as TOTAL, TOTAAL or TE BETALEN (a subtotal is
smaller, and "Subtotal" is not the word TOTAL), and a receipt number when a line names one.
The proposal is checked on the job itself with ``find_sale`` before it is offered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal

from register_agent.config.passthrough import AMOUNT, TOTAL_WORDS, ReceiptTemplate, total_pattern
from register_agent.passthrough.escpos_reader import DecodedJob
from register_agent.passthrough.template import (
    FoundReceipt,
    find_sale,
    parse_amount,
    split_receipts,
)

_TOTAL_LINE = re.compile(
    r"\b(?P<word>" + "|".join(re.escape(word) for word in TOTAL_WORDS) + r")\b\W*"
    r"(?:[A-Za-z€$£]{1,3}\W*)?(?P<amount>" + AMOUNT + r")",
    re.IGNORECASE,
)
#: a receipt number: a word for it, then a value that holds a digit
_NUMBER_LINE = re.compile(
    r"\b(?P<word>bonnr|bonnummer|bon|receipt|ticket|beleg|rechnung|transactie|trans)\b"
    r"[\s.:#nro]*(?P<value>[A-Za-z0-9/-]*\d[A-Za-z0-9/-]*)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Proposal:
    """A template that finds ``found`` in the recorded job, and the lines it stands on."""

    template: ReceiptTemplate
    found: FoundReceipt
    #: the numbers (from 1) of the total's line and of the receipt number's line
    total_line: int
    receipt_no_line: int | None


def propose_template(job: DecodedJob) -> Proposal | None:
    """A template for this till from one of its jobs, or None when no line looks like a
    total (a receipt printed as a picture, or in words the proposal does not know)."""
    best: tuple[Decimal, int, str] | None = None
    for number, line in enumerate(job.lines, start=1):
        match = _TOTAL_LINE.search(line)
        amount = parse_amount(match.group("amount")) if match else None
        if match and amount is not None and (best is None or amount > best[0]):
            best = (amount, number, match.group("word"))
    if best is None:
        return None
    amount, total_line, word = best
    receipt = next(r for r in split_receipts(job) if _holds(r.first_line, r.lines, total_line))
    number_line, number_pattern = _receipt_number(receipt.first_line, receipt.lines)
    # the first receipt that totals is the customer's unless the recorded one comes later
    earlier = [r for r in split_receipts(job) if r.first_line < receipt.first_line]
    pick = "last" if any(_TOTAL_LINE.search(line) for r in earlier for line in r.lines) else "first"
    for pattern in (total_pattern(word), _exact_pattern(job.lines[total_line - 1])):
        template = ReceiptTemplate(
            total=[pattern],
            receipt_no=[number_pattern] if number_pattern else [],
            pick=pick,
        )
        found = find_sale(job, template)
        if isinstance(found, FoundReceipt) and found.total == amount:
            return Proposal(template, found, total_line, number_line)
    return None


def _holds(first: int, lines: list[str], number: int) -> bool:
    return first <= number < first + len(lines)


def _receipt_number(first: int, lines: list[str]) -> tuple[int | None, str | None]:
    for offset, line in enumerate(lines):
        match = _NUMBER_LINE.search(line)
        if match:
            before = re.escape(line[: match.start("value")].strip())
            return first + offset, rf"{before}\s*(?P<receipt_no>[A-Za-z0-9/-]*\d[A-Za-z0-9/-]*)"
    return None, None


def _exact_pattern(line: str) -> str:
    """The line's own words before the amount, as they are printed."""
    match = re.search(AMOUNT + r"\D{0,4}$", line)
    before = line[: match.start()] if match else line
    return rf"^{re.escape(before.strip())}\s*(?P<total>{AMOUNT})"


def template_toml(template: ReceiptTemplate) -> str:
    """The ``[passthrough.template]`` table to paste into the config file."""
    lines = ["[passthrough.template]"]
    for key in ("total", "receipt_no", "skip", "copy_markers"):
        patterns: list[str] = getattr(template, key)
        lines.append(f"{key} = [{', '.join(_toml_string(pattern) for pattern in patterns)}]")
    lines.append(f'pick = "{template.pick}"')
    return "\n".join(lines) + "\n"


def _toml_string(pattern: str) -> str:
    """A pattern as TOML writes it most readably: a literal string takes backslashes as
    they are, so an installer reads the regular expression itself."""
    if "'" not in pattern and "\n" not in pattern:
        return f"'{pattern}'"
    if "'''" not in pattern and not pattern.endswith("'") and "\n" not in pattern:
        return f"'''{pattern}'''"
    # a basic string takes JSON's escapes: each backslash written twice
    return json.dumps(pattern, ensure_ascii=False)
