"""Shared fixtures: the sandbox Register API over real loopback HTTP.

``sandbox`` (session scope) starts one in-process sandbox on a free port and yields a
:class:`Sandbox` handle: ``.url``, ``.v1_key`` / ``.v3_key``, ``.reset()``, ``.ledger()``,
``.requests()``, ``.set_fault(**spec)``, ``.clear_faults()``, ``.claim(url, member)``.
Tests that change state ask for ``sandbox_clean`` instead: the same handle, reset to the
seed (faults off) before the test and faults off after it. ``v1`` and ``v3`` are httpx
clients on the two API bases with the seeded keys. ``journal`` is a real journal file in the
test's own directory, opened and closed around the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from register_agent.journal import Journal
from register_agent.loyalty import set_testing
from register_agent.sandbox import SandboxHandle, start_sandbox
from tests.support.figures import summarise
from tests.support.printer_process import PrinterProcess

V3_KEY = "sandbox-v3-key"
V1_KEY = "sandbox-v1-key"
AGENT = "register-agent/"  # the agent's User-Agent (register_agent/loyalty/http.py)


@dataclass
class Sandbox:
    """The running test sandbox, driven through its control routes with plain httpx."""

    handle: SandboxHandle
    v3_key: str = V3_KEY
    v1_key: str = V1_KEY
    # one client for every control call: building an httpx.Client costs ~50 ms
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=5))
    #: requests of the agent (its User-Agent) that carried a field the API does not know,
    #: gathered before each reset; the session fails at its end if there is any
    agent_unknown_fields: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.handle.url

    def _control(self, method: str, path: str, json: Any = None) -> Any:
        response = self.http.request(method, f"{self.url}/_sandbox/{path}", json=json)
        response.raise_for_status()
        return response.json()["data"]

    def reset(self) -> None:
        """State and faults back to the seed (the request log is checked first)."""
        self.note_agent_unknown_fields()
        self._control("POST", "reset")

    def note_agent_unknown_fields(self) -> None:
        """Keep every request the agent sent with a field the API does not know: the real
        API would ignore it silently, so the agent would believe it sent something."""
        for row in self.requests():
            if row.get("unknown_fields") and row.get("user_agent", "").startswith(AGENT):
                self.agent_unknown_fields.append(
                    f"{row['method']} {row['path']}: {', '.join(row['unknown_fields'])}"
                )

    def ledger(self) -> list[dict[str, Any]]:
        """Every reception, claim, reverse and POS transaction so far, oldest first."""
        rows: list[dict[str, Any]] = self._control("GET", "ledger")
        return rows

    def requests(self) -> list[dict[str, Any]]:
        """Every API request the sandbox received since the last reset: at, method, path,
        fault (the fault mode it met, or None), user_agent, unknown_fields."""
        rows: list[dict[str, Any]] = self._control("GET", "requests")
        return rows

    def options(self, **switches: bool) -> dict[str, bool]:
        """Switch the sandbox (until the next reset), e.g.
        ``options(list_transaction_attributes=True)`` for custom attributes on list entries."""
        answer: dict[str, bool] = self._control("POST", "options", switches)
        return answer

    def set_fault(self, **spec: Any) -> list[dict[str, Any]]:
        """Add a fault, e.g. ``set_fault(mode="error_503", count=1, paths=["/api/v3"])``."""
        active: list[dict[str, Any]] = self._control("POST", "faults", spec)
        return active

    def clear_faults(self) -> None:
        self._control("POST", "faults", {"mode": "off"})

    def claim(self, url: str, member: int | str) -> httpx.Response:
        """A customer scans a receipt QR (staged reception or loyalty token) for ``member``."""
        return self.http.post(f"{self.url}/_sandbox/claim", json={"url": url, "member": member})


@pytest.fixture
def anyio_backend() -> str:
    """The async tests (``pytest.mark.anyio``) run on asyncio, like the agent."""
    return "asyncio"


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    opened = Journal.open(tmp_path / "journal.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def no_retry_waits() -> Iterator[None]:
    """The Register API client retries as in production, but without waiting between
    attempts (``pytestmark = pytest.mark.usefixtures("no_retry_waits")``)."""
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture
def printer() -> Iterator[PrinterProcess]:
    """A TCP printer in a process of its own that records the bytes and answers status
    (a module may define its own ``printer`` instead)."""
    device = PrinterProcess()
    try:
        yield device
    finally:
        device.stop()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    handle = start_sandbox()
    box = Sandbox(handle)
    try:
        yield box
        box.note_agent_unknown_fields()
    finally:
        box.http.close()
        handle.stop()
    # a session-wide check: the agent never sends a field the Register API does not know
    assert box.agent_unknown_fields == [], "the agent sent fields the API does not know:\n" + (
        "\n".join(sorted(set(box.agent_unknown_fields)))
    )


@pytest.fixture
def sandbox_clean(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.reset()
    yield sandbox
    sandbox.clear_faults()


def _client(sandbox: Sandbox, version: str, key: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    url = f"{sandbox.url}/api/{version}/register"
    with httpx.Client(base_url=url, headers=headers, timeout=5) as client:
        yield client


@pytest.fixture(scope="session")
def _v1_client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    yield from _client(sandbox, "v1", sandbox.v1_key)


@pytest.fixture(scope="session")
def _v3_client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    yield from _client(sandbox, "v3", sandbox.v3_key)


@pytest.fixture
def v1(sandbox_clean: Sandbox, _v1_client: httpx.Client) -> httpx.Client:
    """An httpx client on ``/api/v1/register`` with the v1 key, on a freshly reset sandbox."""
    return _v1_client


@pytest.fixture
def v3(sandbox_clean: Sandbox, _v3_client: httpx.Client) -> httpx.Client:
    """An httpx client on ``/api/v3/register`` with the v3 key, on a freshly reset sandbox."""
    return _v3_client


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fault suite's figures (tests/support/figures.py), shown even when every test passed."""
    summarise(terminalreporter)
