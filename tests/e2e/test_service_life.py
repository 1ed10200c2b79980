"""The real agent under a stand-in for systemd: ready while the Register API and the printer
are down, the watchdog fed while idle and starved by one hung worker, a reload with a new
key resuming paused sending (no request at all while paused: a 401 pauses sending), and a
clean stop. The hung worker comes from the test-only ``REGISTER_AGENT_HANG_WORKER``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drivers.virtual_printer import VirtualPrinter
from tests.conftest import Sandbox
from tests.support.agent_process import (
    JAN_CARD,
    TOKEN_SECRET,
    Notifications,
    local_api,
    running_agent,
    wait_until,
    write_config,
    write_credentials,
)
from tests.support.figures import note
from tests.support.ports import free_port
from tests.support.reader_support import pty_pair

LOCAL_TOKEN = "local-api-token-for-the-service-life-test"
#: 2 s: pings every second; a worker silent for 2 s counts as hung (the printer's idle turn
#: is 1 s, so anything shorter could call an idle printer hung)
WATCHDOG_USEC = 2_000_000
#: how long a start may take before READY=1: generous, because on a loaded two-core machine
#: (suites side by side) a start took over 15 s; it bounds a wait, it times nothing
START_WAIT_S = 40


def _credentials(directory: Path, api_key: str) -> Path:
    return write_credentials(
        directory / "credentials",
        {
            "api-key": api_key,
            "loyalty-token-secret": TOKEN_SECRET,
            "local-api-token": LOCAL_TOKEN,
        },
    )


def _down_till(directory: Path) -> tuple[Path, int]:
    """A till whose Register API and printer are both unreachable (closed ports)."""
    directory.mkdir()
    port = free_port()
    config = write_config(
        directory,
        base_url=f"http://127.0.0.1:{free_port()}",
        printer_port=free_port(),
        api_port=port,
    )
    return config, port


def test_ready_while_degraded_fed_while_idle_and_a_clean_stop(tmp_path: Path) -> None:
    config, port = _down_till(tmp_path / "till")
    notifications = Notifications(tmp_path / "notify")
    env = {"CREDENTIALS_DIRECTORY": str(_credentials(tmp_path, "any-key"))}
    with running_agent(
        config, notifications, watchdog_usec=WATCHDOG_USEC, env=env, log=tmp_path / "log"
    ) as agent:
        notifications.wait_for("READY=1", timeout_s=START_WAIT_S)
        ready_at = time.monotonic()
        with local_api(port, LOCAL_TOKEN) as api:
            status = wait_until(
                lambda: (
                    (body := api.get("/v1/status").json())["register_api"] != "unknown" and body
                ),
                30,
                "the status names the API state",
            )
        assert status["register_api"] == "unreachable"
        assert not status["printer"].startswith("ok"), status["printer"]
        wait_until(
            lambda: len(notifications.times_of("WATCHDOG=1", since=ready_at)) >= 3,
            30,
            "three watchdog pings while idle",
        )
        seen = len(notifications.times_of("WATCHDOG=1"))
        wait_until(  # still coming at the end
            lambda: len(notifications.times_of("WATCHDOG=1")) > seen, 30, "the pings to go on"
        )
        assert agent.stop() == 0
    lines = notifications.lines()
    assert lines.index("STOPPING=1") > lines.index("READY=1")
    notifications.close()


def test_one_hung_worker_stops_the_watchdog_pings(tmp_path: Path) -> None:
    """The printer hung in one agent, the outbox in another (run side by side to save time)."""
    agents = {}
    with contextlib.ExitStack() as stack:
        for worker in ("printer", "outbox"):
            config, _ = _down_till(tmp_path / worker)
            notifications = Notifications(tmp_path / f"notify-{worker}")
            env = {
                "CREDENTIALS_DIRECTORY": str(_credentials(tmp_path / worker, "any-key")),
                "REGISTER_AGENT_HANG_WORKER": worker,
            }
            agent = stack.enter_context(
                running_agent(
                    config,
                    notifications,
                    watchdog_usec=WATCHDOG_USEC,
                    env=env,
                    log=tmp_path / worker / "log",
                )
            )
            agents[worker] = (agent, notifications)
        for _, notifications in agents.values():
            notifications.wait_for("READY=1", timeout_s=START_WAIT_S)
        for worker, (agent, notifications) in agents.items():
            said = f"no heartbeat from {worker}"
            # hung from its first turn: found silent after 2 s, and from then on each turn
            # of the watchdog loop says so instead of pinging
            wait_until(lambda a=agent, s=said: s in a.output(), 30, f"{worker} found hung")
            pings = notifications.times_of("WATCHDOG=1")
            wait_until(lambda a=agent, s=said: a.output().count(s) >= 3, 30, "the next turns' word")
            assert notifications.times_of("WATCHDOG=1") == pings, worker  # no ping since
            assert agent.stop() == 0
            notifications.close()


def test_a_new_key_on_reload_resumes_paused_sending(tmp_path: Path, sandbox_clean: Sandbox) -> None:
    port = free_port()
    config = write_config(
        tmp_path, base_url=sandbox_clean.url, printer_port=free_port(), api_port=port
    )
    credentials = _credentials(tmp_path, "a-key-the-register-api-refuses")
    notifications = Notifications(tmp_path / "notify")
    env = {"CREDENTIALS_DIRECTORY": str(credentials)}
    with (
        running_agent(
            config, notifications, watchdog_usec=WATCHDOG_USEC, env=env, log=tmp_path / "log"
        ) as agent,
        local_api(port, LOCAL_TOKEN) as api,
    ):
        notifications.wait_for("READY=1", timeout_s=START_WAIT_S)
        # three customers: three delivery queues the outbox would work in parallel
        for number, card in enumerate((JAN_CARD, "B2C3D4E5", "C3D4E5F6"), start=1):
            sale = {"sale_id": f"S-{number}", "amount": f"{number}2.50", "customer_card": card}
            assert api.post("/v1/sales", json=sale).status_code in (200, 201)
        wait_until(
            lambda: api.get("/v1/status").json()["register_api"] == "key_refused",
            5,
            "sending paused on the refused key",
        )
        # paused: with backoffs of 0.2-0.5 s, 1.5 s would otherwise see several attempts
        time.sleep(0.3)  # requests already on their way when the first 401 came land first
        refused = len(sandbox_clean.requests())
        time.sleep(1.5)
        paused = sandbox_clean.requests()[refused:]
        note("401 pause", requests_refused=refused, requests_while_paused=len(paused))
        assert paused == []
        assert _credits(sandbox_clean) == []

        (credentials / "api-key").write_text(sandbox_clean.v3_key + "\n", encoding="utf-8")
        before = len(notifications.received)
        agent.signal(signal.SIGHUP)
        reloading = notifications.wait_for("RELOADING=1", after=before)
        notifications.wait_for("READY=1", after=reloading + 1)
        credits = wait_until(
            lambda: len(found := _credits(sandbox_clean)) == 3 and found, 10, "the sales credited"
        )
        assert sorted(credit["credits"] for credit in credits) == [12, 22, 32]
        assert api.get("/v1/status").json()["register_api"] != "key_refused"

        assert agent.stop() == 0
    assert "STOPPING=1" in notifications.lines()
    notifications.close()


def _credits(sandbox: Sandbox) -> list[dict[str, object]]:
    return [row for row in sandbox.ledger() if row["kind"] == "credit_reception"]


HARDENED = Path(__file__).resolve().parents[1] / "support" / "hardened_launcher.py"


@pytest.mark.skipif(
    platform.machine() != "x86_64"
    or shutil.which("systemd-analyze") is None
    or not Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h").exists(),
    reason="the seccomp stand-in needs x86-64, systemd-analyze and linux-libc-dev",
)
def test_a_sale_scan_and_reload_work_under_the_units_restrictions(
    tmp_path: Path, sandbox_clean: Sandbox
) -> None:
    """SystemCallFilter=@system-service ~@privileged @resources (EPERM), NoNewPrivileges=
    and MemoryDenyWriteExecute= as the unit sets them, applied by
    tests/support/hardened_launcher.py: a filtered call the agent needs would show here, not
    first on a till."""
    probe = subprocess.run(
        [sys.executable, str(HARDENED), "--probe"], capture_output=True, timeout=30, check=False
    )
    if probe.returncode != 0 and b"Invalid argument" in probe.stderr:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3 or later)")
    assert probe.returncode == 0, probe.stderr  # the filter is really in force
    port = free_port()
    with VirtualPrinter() as printer, pty_pair() as (reader, reader_path):
        config = write_config(
            tmp_path,
            base_url=sandbox_clean.url,
            printer_port=printer.address[1],
            api_port=port,
            extra=f'[[readers]]\nkind = "serial"\nname = "counter"\nport = "{reader_path}"\n',
        )
        notifications = Notifications(tmp_path / "notify")
        env = {"CREDENTIALS_DIRECTORY": str(_credentials(tmp_path, sandbox_clean.v3_key))}
        with (
            running_agent(
                config,
                notifications,
                watchdog_usec=WATCHDOG_USEC,
                env=env,
                log=tmp_path / "log",
                entry=[str(HARDENED)],
            ) as agent,
            local_api(port, LOCAL_TOKEN) as api,
        ):
            notifications.wait_for("READY=1", timeout_s=START_WAIT_S)
            os.write(reader, JAN_CARD.encode() + b"\r\n")
            wait_until(lambda: api.get("/v1/customer").status_code == 200, 5, "Jan scanned")
            sale = {"sale_id": "H-1", "amount": "12.50"}
            assert api.post("/v1/sales", json=sale).status_code in (200, 201)
            (credit,) = wait_until(lambda: _credits(sandbox_clean), 10, "the sale credited")
            assert credit["credits"] == 12
            assert printer.wait_until(lambda p: len(p.printed()) >= 1, 10)
            before = len(notifications.received)
            agent.signal(signal.SIGHUP)
            reloading = notifications.wait_for("RELOADING=1", after=before)
            notifications.wait_for("READY=1", after=reloading + 1)
            assert agent.stop() == 0
        notifications.close()
    output = agent.output()
    assert "Operation not permitted" not in output
    assert "Traceback" not in output
    if len(os.sched_getaffinity(0)) > 1:  # the unit lets it keep its threads on one CPU
        assert "the agent's threads run on CPU" in output
