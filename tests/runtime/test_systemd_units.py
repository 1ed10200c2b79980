"""The files in ``systemd/`` as systemd itself judges them.

``systemd-analyze verify`` only warns (exit 0) about unknown keys and bad values, so any
output at all fails. It also insists that ExecStart= exists and is executable here, so it
checks a copy whose ExecStart= points at this virtual environment's ``register-agent``.
``systemd-analyze security --offline=true`` must rate the unit 2.0 or lower.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "register-agent.service"
SYSUSERS = ROOT / "systemd" / "sysusers.d" / "register-agent.conf"
UDEV_RULES = ROOT / "systemd" / "udev" / "60-register-agent.rules"
INSTALLED_EXEC = "/opt/register-agent/bin/register-agent"
MAX_EXPOSURE = 2.0

systemd_analyze = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    systemd_analyze is None,
    reason="systemd-analyze is not installed (Debian package systemd; scripts/setup.sh adds it)",
)


def _checkable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart= at the register-agent of the running virtual environment."""
    here = Path(sys.executable).parent / "register-agent"
    assert here.is_file(), f"{here} missing: install the package (pip install -e .)"
    text = UNIT.read_text(encoding="utf-8")
    assert f"ExecStart={INSTALLED_EXEC} run" in text
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(INSTALLED_EXEC, str(here)), encoding="utf-8")
    return copy


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert systemd_analyze is not None
    return subprocess.run(
        [systemd_analyze, *args], capture_output=True, text=True, timeout=30, check=False
    )


@needs_systemd_analyze
def test_the_unit_verifies_without_a_word(tmp_path: Path) -> None:
    result = _analyze("verify", str(_checkable_copy(tmp_path)))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_systemd_analyze
def test_verify_would_catch_a_typo(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key makes verify speak (with exit 0)."""
    copy = _checkable_copy(tmp_path)
    copy.write_text(
        copy.read_text(encoding="utf-8").replace("ProtectHome=", "ProtectHomes="), "utf-8"
    )
    result = _analyze("verify", str(copy))
    assert "ProtectHomes" in result.stdout + result.stderr


@needs_systemd_analyze
def test_the_unit_is_rated_two_or_lower(tmp_path: Path) -> None:
    result = _analyze("security", "--offline=true", "--no-pager", str(_checkable_copy(tmp_path)))
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found is not None, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


def test_secrets_come_as_credentials_never_as_environment() -> None:
    text = UNIT.read_text(encoding="utf-8")
    settings = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert not [line for line in settings if line.startswith(("Environment=", "EnvironmentFile="))]
    loaded = {
        line.split("=", 1)[1].split(":", 1)[0]
        for line in settings
        if line.startswith("LoadCredential=")
    }
    assert loaded == {"api-key", "loyalty-token-secret", "local-api-token"}


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="no systemd-sysusers")
def test_the_service_user_gets_only_dialout_and_lp(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n", encoding="utf-8")
    (etc / "group").write_text("root:x:0:\nlp:x:7:\ndialout:x:20:\ninput:x:101:\n", "utf-8")
    subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", "-"],
        input=SYSUSERS.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    groups = (etc / "group").read_text(encoding="utf-8").splitlines()
    member_of = sorted(
        line.split(":")[0] for line in groups if "register-agent" in line.split(":")[3]
    )
    assert member_of == ["dialout", "lp"]
    assert "register-agent:x:" in (etc / "passwd").read_text(encoding="utf-8")


def test_udev_rules_keep_modemmanager_off_and_name_devices_stably() -> None:
    rules = UDEV_RULES.read_text(encoding="utf-8")
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in rules
    assert 'SYMLINK+="register-agent/$env{REGISTER_AGENT_ROLE}-' in rules  # tty readers, printers
    assert 'SYMLINK+="register-agent/printer-' in rules  # /dev/usb/lp*
    assert 'ENV{REGISTER_AGENT_ROLE}="reader"' in rules
    assert 'GROUP="dialout"' in rules
    assert 'GROUP="lp"' in rules
    # every GOTO lands on a LABEL: a typo there silently skips the rest of the file
    targets = set(re.findall(r'GOTO="([^"]+)"', rules))
    assert targets <= set(re.findall(r'LABEL="([^"]+)"', rules))


@pytest.mark.skipif(
    shutil.which("udevadm") is None or shutil.which("unshare") is None or os.geteuid() != 0,
    reason="needs udevadm (Debian package udev), unshare and root (a private mount namespace)",
)
@pytest.mark.parametrize("rules", ["ours", "a typo"])
def test_udev_parses_the_rules_without_a_complaint(tmp_path: Path, rules: str) -> None:
    """udevadm test reads the rules from /etc/udev/rules.d: a private mount namespace puts
    ours there for this one run, leaving the machine as it was. A typo must be reported,
    or the check proves nothing."""
    text = UDEV_RULES.read_text(encoding="utf-8")
    if rules == "a typo":
        text = text.replace("SYMLINK+=", "SYMLNK+=", 1)
    (tmp_path / UDEV_RULES.name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "sh",
            "-c",
            f"mount --bind {tmp_path} /etc/udev/rules.d && "
            "udevadm test --action=add /sys/class/tty/console",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if UDEV_RULES.name in line
    ]
    complaints = [line for line in complaints if "Reading rules file" not in line]
    if rules == "ours":
        assert complaints == [], complaints
    else:
        assert any("Invalid key 'SYMLNK'" in line for line in complaints), result.stderr


MDWE_PROBE = textwrap.dedent(
    """
    import ctypes, mmap, sys
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        sys.exit(77)  # this kernel has no PR_SET_MDWE (before Linux 6.3)
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except OSError:
        pass
    else:
        sys.exit("MDWE is not in force: a writable executable mapping was made")
    import register_agent.runtime.agent, register_agent.cli, register_agent.sandbox
    from register_agent.config import NetworkPrinterConfig, ReceiptConfig
    from register_agent.receipts.layout import layout_receipt
    from register_agent.receipts.status_ticket import print_test_receipt
    from drivers.escpos_render import render
    from drivers.receipt_preview import write_preview
    config = NetworkPrinterConfig(kind="network", host="127.0.0.1")
    receipt = print_test_receipt(ReceiptConfig(), "https://x.test/q")
    layout = layout_receipt(receipt, ReceiptConfig(), 42)
    assert len(render(layout, config)) > 100
    write_preview(layout, sys.argv[1])
    print("ok")
    """
)


def test_python_and_the_agent_run_with_memory_deny_write_execute(tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes in the unit: the agent's imports, the ESC/POS rendering and
    Pillow (receipt previews) must work without writable executable memory. The kernel's
    PR_SET_MDWE is the same rule systemd enforces with seccomp."""
    result = subprocess.run(
        [sys.executable, "-c", MDWE_PROBE, str(tmp_path / "preview.png")],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )
    if result.returncode == 77:
        pytest.skip("the kernel has no PR_SET_MDWE (Linux 6.3 or later needed)")
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr
