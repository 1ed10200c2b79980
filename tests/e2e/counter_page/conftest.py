"""The real browser of ``tests/support/browser.py`` for the counter page's tests: one
headless Chromium per test module, a fresh tab per test."""

from tests.support.browser import browser, page  # noqa: F401 (fixtures)
