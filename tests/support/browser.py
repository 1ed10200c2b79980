"""A real browser for the tests of what runs in one (the counter page, a browser POS calling
the local API through CORS): headless Chromium from Debian (``/usr/bin/chromium``, the
package ``chromium`` in scripts/system-packages.txt) driven by Playwright for Python, never
a browser Playwright downloads itself (``playwright install`` is not part of the set-up).

One browser per test module (fixture ``browser``, scope "module": starting Chromium costs
about a second of a shared 2-core machine), with a fresh profile in its own directory; each
test gets a fresh page (fixture ``page``) whose cookies are cleared first, and saves a
screenshot under its own tmp path (``screenshot(page, tmp_path, name)``)::

    # ruff: noqa: F811 (the fixtures are imported: their users redefine the names)
    from tests.support.browser import browser, page, screenshot  # noqa: F401

    def test_something(page: Page, tmp_path: Path) -> None:
        page.goto(url)
        ...
        screenshot(page, tmp_path, "after-sale")

``static_site(directory)`` serves a folder over HTTP on another loopback port: a page of
another origin, as a browser POS's would be.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: quiet, offline, reproducible: no GPU, no QUIC, no calls home, no first-run screens
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the test user may not have user namespaces (containers, CI)
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: how long a browser action or expectation may wait before the test fails (not a timing
#: assertion: a bound, so a broken page fails the test instead of hanging it)
WAIT_MS = 10_000

try:
    from playwright.sync_api import BrowserContext, Page, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]


def _require_browser() -> None:
    if sync_playwright is None:
        pytest.fail("playwright is missing: run `make setup` (it is in the dev extra)")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package chromium (make setup)")


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    """One headless Chromium for the module, on a fresh profile directory of its own."""
    _require_browser()
    profile = Path(tempfile.mkdtemp(prefix="register-agent-chromium-"))
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile),  # Chromium's --user-data-dir: Playwright passes it itself
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                ignore_https_errors=False,
            )
            context.set_default_timeout(WAIT_MS)
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A fresh tab with no cookies left by the module's earlier tests."""
    browser.clear_cookies()
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


def screenshot(page: Page, directory: Path, name: str) -> Path:
    """The page as the cashier sees it, saved as ``<directory>/<name>.png``."""
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def static_site(directory: Path, host: str = "127.0.0.1") -> Iterator[str]:
    """``directory`` served over HTTP on a free port of ``host``; yields its origin."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
