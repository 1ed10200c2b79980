"""The real browser of ``tests/support/browser.py`` for the counter page's tests: one
headless Chromium per test module, a fresh tab per test; a script error on the page fails
the test that met it (the cashier would see a page that stopped working)."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.support.browser import browser, page  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def no_script_errors(page: Page) -> Iterator[None]:  # noqa: F811 (the fixture above)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == [], "the counter page's scripts failed"
