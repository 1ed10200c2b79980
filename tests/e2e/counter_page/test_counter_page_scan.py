"""The counter page shows a scanned customer in two steps (headless Chromium against the
real agent process, its pty reader and the sandbox): the name and card at once, the
balance and the rewards when their reads come back. The sandbox holds those reads (a
latency fault) until the test lets them go, so the first step is seen, not raced.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Sandbox
from tests.e2e.counter_page.test_counter_page import JAN_CARD, SHOWN_MS, log_in, till_with
from tests.e2e.test_e2e_scan_event import HELD_READS
from tests.support.agent_harness import AgentProcess, wait_for
from tests.support.browser import screenshot

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def till(sandbox_clean: Sandbox, tmp_path: Path) -> Iterator[AgentProcess]:
    agent = till_with(tmp_path, sandbox_clean)
    try:
        agent.start()
        # the local API answers before the reader's port is open (opening it flushes the pty)
        wait_for(lambda: agent.status()["readers"] == ["counter: ok"], 30, "the card reader")
        yield agent
    finally:
        agent.close()


def test_the_name_comes_first_and_the_balance_when_it_is_read(
    page: Page, till: AgentProcess, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    log_in(page, till)
    sandbox_clean.set_fault(**HELD_READS)
    till.scan(JAN_CARD, wait=False)

    expect(page.locator("#customer-card")).to_be_visible(timeout=SHOWN_MS)
    expect(page.locator("#customer-tail")).to_have_text("•••• C3D4")
    # v3's identifier answer names the contact by uuid and e-mail only (the vendor's
    # contact-identifiers/find): the first name comes with the contact, read after it
    expect(page.locator("#customer-name")).to_have_text("Customer")
    # the balance and rewards are held by the sandbox: the page shows none yet
    expect(page.locator("#customer-balance")).to_have_text("\u2013")  # a dash: not read yet
    expect(page.locator("#rewards button")).to_have_count(0)
    screenshot(page, tmp_path, "identified")

    sandbox_clean.clear_faults()
    expect(page.locator("#customer-balance")).to_have_text("150 points", timeout=SHOWN_MS)
    expect(page.locator("#customer-name")).to_have_text("Jan")
    expect(page.locator("#rewards button", has_text="Free coffee")).to_be_visible()
    screenshot(page, tmp_path, "with-balance")
