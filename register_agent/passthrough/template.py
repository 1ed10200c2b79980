"""The per-till template: which receipt of a job is the customer's, and what it says the
customer paid.

``find_sale`` takes a job the reader decoded (``escpos_reader.decode_job``) and the
``[passthrough.template]`` of ``register_agent/config/passthrough.py``: it splits the job's
lines into receipts at the cuts, leaves out the receipts the template skips (the merchant's
copy, a card terminal's slip, a kitchen ticket), and reads the total (and the receipt
number) off the customer's. When it cannot say for sure it answers ``Unmatched`` with a
short reason the relay counts, and the job goes to the printer untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from register_agent.config.passthrough import PassthroughConfig, ReceiptTemplate
from register_agent.passthrough.escpos_reader import DecodedJob, StreamOutOfSync, decode_job


@dataclass(frozen=True)
class FoundReceipt:
    """The customer's receipt in a job: what it totals, and where the block goes."""

    total: Decimal
    #: the till's receipt number, when the template finds one
    receipt_no: str | None
    #: a reprint or a copy (the template's ``copy_markers``): it must never credit
    is_copy: bool
    #: the block goes before the cut at this offset; None: at the end of the job
    cut_offset: int | None


@dataclass(frozen=True)
class Unmatched:
    """No sale found; ``reason`` is the counter's label."""

    #: ``out_of_sync``: the reader could not follow the job; ``no_text``: nothing printed;
    #: ``raster_only``: the receipt is a picture; ``all_skipped``: every receipt matched a
    #: ``skip`` pattern; ``no_total``: no line matched a ``total`` pattern; ``bad_amount``:
    #: the total's text is no amount; ``not_positive``: a zero or negative total (a refund)
    reason: str


@dataclass(frozen=True)
class Receipt:
    """The lines between two cuts of a job."""

    lines: list[str]
    #: the number (from 1) of its first line in the job, as ``passthrough-test`` shows them
    first_line: int
    #: the cut that ends it; None for lines after the last cut
    cut_offset: int | None


def split_receipts(job: DecodedJob) -> list[Receipt]:
    """The job's receipts in print order; receipts without a printed character left out."""
    receipts: list[Receipt] = []
    start = 0
    bounds: list[int | None] = [*job.cut_offsets, None]
    for cut in bounds:
        end = start
        while end < len(job.lines) and (cut is None or job.line_ends[end] <= cut):
            end += 1
        lines = job.lines[start:end]
        if any(line.strip() for line in lines):
            receipts.append(Receipt(lines, start + 1, cut))
        start = end
    return receipts


def find_sale(job: DecodedJob, template: ReceiptTemplate) -> FoundReceipt | Unmatched:
    """The customer's receipt and its total, or why there is none to credit."""
    if not job.has_text:
        return Unmatched("raster_only" if job.has_image else "no_text")
    receipts = [
        receipt for receipt in split_receipts(job) if not _any_line(template.skip, receipt.lines)
    ]
    if not receipts:
        return Unmatched("all_skipped")
    if template.pick == "last":
        receipts.reverse()
    for receipt in receipts:
        found = _total_of(receipt, template)
        if found is not None:
            return found
    return Unmatched("no_total")


def read_sale(
    data: bytes, passthrough: PassthroughConfig
) -> tuple[DecodedJob | None, FoundReceipt | Unmatched]:
    """Decode a whole job and find its sale with this till's settings; a job the reader
    loses sync on is ``Unmatched("out_of_sync")`` (and no decoded job)."""
    try:
        job = decode_for(data, passthrough)
    except StreamOutOfSync:
        return None, Unmatched("out_of_sync")
    return job, find_sale(job, passthrough.template)


def decode_for(data: bytes, passthrough: PassthroughConfig) -> DecodedJob:
    """``decode_job`` with this till's code pages and cut dialect."""
    return decode_job(
        data, passthrough.code_pages, passthrough.cut_dialect, passthrough.multibyte_code_page
    )


def _total_of(receipt: Receipt, template: ReceiptTemplate) -> FoundReceipt | Unmatched | None:
    # The template's patterns in the order written, each over the lines top to bottom: an
    # installer puts the surest pattern first, and the amount to pay precedes what is
    # printed after it (paid, change, VAT), which a loose pattern could also match.
    for pattern in template.total:
        for line in receipt.lines:
            match = _regex(pattern).search(line)
            if match is None:
                continue
            amount = parse_amount(match.group("total"))
            if amount is None:
                return Unmatched("bad_amount")
            if amount <= 0:
                return Unmatched("not_positive")
            number = match.groupdict().get("receipt_no") or _receipt_no(receipt, template)
            return FoundReceipt(
                total=amount,
                receipt_no=number.strip() if number else None,
                is_copy=_any_line(template.copy_markers, receipt.lines),
                cut_offset=receipt.cut_offset,
            )
    return None


def _receipt_no(receipt: Receipt, template: ReceiptTemplate) -> str | None:
    for pattern in template.receipt_no:
        for line in receipt.lines:
            match = _regex(pattern).search(line)
            if match and match.group("receipt_no"):
                return str(match.group("receipt_no"))
    return None


def _any_line(patterns: list[str], lines: list[str]) -> bool:
    return any(_regex(pattern).search(line) for pattern in patterns for line in lines)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    # Case never matters on a receipt: tills print TOTAL, Total and total alike.
    return re.compile(pattern, re.IGNORECASE)


_GROUPED = re.compile(r"\d{1,3}(?:[.,]\d{3})+|\d+")


def parse_amount(text: str) -> Decimal | None:
    """An amount as a till prints it, or None when the text is no amount.

    The last separator is the decimal one when one or two digits follow it (``12,50``,
    ``1.234,50``, ``1,234.50``); followed by three digits it groups thousands (``1.234``):
    the currencies of our markets have two decimals. Spaces and apostrophes group too.
    """
    digits = text.replace(" ", "").replace("'", "").replace("\u00a0", "")
    negative = digits.startswith("-")
    digits = digits.removeprefix("-")
    if not digits or not re.fullmatch(r"[\d.,]+", digits):
        return None
    whole, fraction = digits, ""
    cut = max(digits.rfind("."), digits.rfind(","))
    if cut >= 0 and 1 <= len(digits) - cut - 1 <= 2:
        whole, fraction = digits[:cut], digits[cut + 1 :]
    if not _GROUPED.fullmatch(whole) or (whole.count(".") and whole.count(",")):
        return None
    value = Decimal(re.sub(r"[.,]", "", whole) + ("." + fraction if fraction else ""))
    return -value if negative else value
