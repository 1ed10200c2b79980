"""Step 13 of ``register-agent demo``: a till nobody can change. It prints its receipt to the
agent's pass-through port (``register_agent/passthrough/``) as it would to a network
printer; the agent relays the job to the printer with the loyalty block before the cut,
and credits the card scanned just before through the same till flow as a POS sale.

The "till" here replays a receipt as old cash registers print it (ESC/POS: a reset, a code
page, text, a cut); the step shows what came out of the printer and checks that the till's
bytes arrived unchanged around the block. The same job sent again (a till that retries)
prints the same block and credits nothing twice: the summary's ledger check says so.
"""

from __future__ import annotations

import socket
import time
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from register_agent.commands.demo.ledger import Expected
from register_agent.config import PassthroughConfig, ReceiptTemplate
from register_agent.passthrough.template import decode_for

if TYPE_CHECKING:
    from register_agent.commands.demo.guide import Guide

#: the default seed's Marie (her card scanned on the counter's reader before the receipt)
MARIE_CARD = "B2C3D4E5"
AMOUNT = Decimal("14.80")
RECEIPT_NO = "1042"
MARKER = b"Bon 1042 "
#: the till's cut (GS V 65 3: feed and cut); the block goes before it
CUT = b"\x1dVA\x03"
#: the demo till's template: the default totals, and its receipt number ("Bon 1042")
TEMPLATE = ReceiptTemplate(receipt_no=[r"^Bon\s+(?P<receipt_no>\d+)"])
WAIT_S = 10.0  # for the printer to hold the whole job


def recorded_receipt() -> bytes:
    """The till's job: a reset, code page 19 (cp858, with the euro sign), a centred double
    height shop name, the lines, the total with a decimal comma, a feed and the cut."""
    lines = [
        "Bon 1042                  05-12-2026 10:42",
        "-" * 42,
        "2 x Krentenbol                      3,20",
        "1 x Volkorenbrood                   3,95",
        "1 x Appeltaart                      7,65",
        "-" * 42,
        "TOTAAL                      EUR   14,80",
        "PIN                                14,80",
        "",
        "Bedankt en tot ziens!",
    ]
    body = "\n".join(lines).encode("cp858") + b"\n"
    head = b"\x1b@\x1bt\x13\x1ba\x01\x1b!\x10BAKKERIJ CENTRUM\n\x1b!\x00Marktstraat 1\n\x1ba\x00"
    return head + body + b"\n\n\n" + CUT


class TillPrint:
    """Step 13 of the tour, and its sale for the ledger check."""

    def __init__(self, tour: Guide) -> None:
        self._tour = tour

    def run(self) -> None:
        t = self._tour
        address = t._till.till_printer
        if address is None:  # a tour without the pass-through (its tests' own tills)
            return
        t._begin("13. A till nobody can change prints its receipt through the agent")
        t._say(
            f"   An old cash register prints to the agent at {address[0]}:{address[1]} as to a "
            "network printer; the agent relays every job to the real printer."
        )
        t._till.scan(MARIE_CARD)
        t._customer()
        t._say(f"   Marie scans her card {MARIE_CARD} before the cashier rings up her order.")
        job = recorded_receipt()
        printed = self._print(address, job)
        before, after = job[: job.rindex(CUT)], job[job.rindex(CUT) :]
        t._check(
            printed.startswith(before) and printed.endswith(after) and len(printed) > len(job),
            "the till's own bytes, unchanged, around a block before the cut",
        )
        block = decode_for(printed[len(before) : -len(after)], PassthroughConfig()).lines
        words = [line.strip() for line in block if line.strip()]
        t._say("   The printer's receipt (the till's lines, then the agent's block):")
        till_lines = decode_for(before, PassthroughConfig()).lines
        while till_lines and not till_lines[-1].strip():  # the feed before the cut
            till_lines.pop()
        for line in till_lines:
            t._say(f"     | {line}")
        for line in words:
            t._say(f"     | {line}    <- the agent's block")
        t._say("     (the till's cut)")
        credits = int(AMOUNT)
        t._check(any(str(credits) in line for line in words), f"{credits} points on the block")
        again = self._print(address, job)
        t._check(again == printed, "the same receipt, the same block, when the till sends it again")
        t._say(
            "   The till sends the same job again (a retry): the same receipt and block; "
            "the receipt number names one sale, credited once."
        )
        sale_id = f"pt-{date.today():%Y%m%d}-{RECEIPT_NO}"
        t._sales.append(Expected(sale_id, MARIE_CARD, AMOUNT))

    def _print(self, address: tuple[str, int], job: bytes) -> bytes:
        """Send ``job`` as the till does (one connection), and what the printer got."""
        t = self._tour
        known = len(self._receipts())
        with socket.create_connection(address, timeout=WAIT_S) as till:
            till.sendall(job)
            till.shutdown(socket.SHUT_WR)
            while till.recv(4096):  # the printer's answers, until the agent closes
                pass
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            receipts = self._receipts()
            if len(receipts) > known:
                return receipts[-1]
            time.sleep(0.05)
        t._check(False, f"the receipt at the printer within {WAIT_S:.0f} s")
        return b""

    def _receipts(self) -> list[bytes]:
        """The printer's complete jobs that are this till's receipt (the agent's own slips
        print on the same printer)."""
        return [data for data in self._tour._till.printer_jobs() if MARKER in data]
