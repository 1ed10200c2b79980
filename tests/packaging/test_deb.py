"""The Debian package as a till gets it: built by `make deb`, installed with apt on this
machine, upgraded over a journal with credits still owed, refused as a downgrade over a
newer journal, removed and purged (packaging/deb/, README "Installing from the package").

It installs a system package, so it runs as root and only when asked:
`make package` (part of `make test`) sets REGISTER_AGENT_PACKAGE_TEST=1. The machine is
left purged even when a step fails (the ``clean_machine`` fixture).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging import deb_support as deb
from tests.packaging.deb_support import JOURNAL, ROOT, STATE, USER

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("REGISTER_AGENT_PACKAGE_TEST") != "1",
        reason="installs a system package with apt: run by `make package` (part of `make test`)",
    ),
    pytest.mark.skipif(
        os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None,
        reason="needs root and apt-get (Debian) to install the package",
    ),
    pytest.mark.timeout(900),
]

WANTS = Path("/etc/systemd/system/multi-user.target.wants/register-agent.service")
ONE = "1.0.0~pkgtest1"
TWO = "1.0.0~pkgtest2"


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two builds: ONE from this checkout, TWO from a copy with one more journal migration
    (as a later release would have). The wheels are kept between runs in build/deb/."""
    out = tmp_path_factory.mktemp("debs")
    wheelhouse = deb.WHEELS / "amd64"
    later = deb.copy_with_one_more_migration(tmp_path_factory.mktemp("later") / "src")
    return {
        ONE: deb.build(ONE, source=ROOT, out=out, wheelhouse=wheelhouse),
        TWO: deb.build(TWO, source=later, out=out, wheelhouse=wheelhouse),
    }


@pytest.fixture
def clean_machine() -> Iterator[None]:
    """No register-agent before the test, and none after it (purged, journal and all)."""
    user_was_there = deb.user_exists()
    assert deb.installed_version() is None, "register-agent is installed on this machine"
    assert not JOURNAL.exists(), f"{JOURNAL} exists: a till's journal, not the test's"
    try:
        yield
    finally:
        deb.scrub(remove_user=not user_was_there)


def _install(package: Path) -> str:
    result = deb.apt("install", "--allow-downgrades", str(package))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.usefixtures("clean_machine")
def test_the_installed_package_checks_out(debs: dict[str, Path]) -> None:
    said = _install(debs[ONE])
    assert deb.installed_version() == ONE
    # not started without a config and an API key, and told what to do
    assert "NOT started" in said
    assert "/etc/register-agent/api-key" in said
    # the user, from the sysusers file, with the device groups
    groups = subprocess.run(["id", "-nG", USER], capture_output=True, text=True, check=True)
    assert {"register-agent", "dialout", "lp"} <= set(groups.stdout.split())

    # the venv belongs at /opt: the command, its Python and its shebang
    version = subprocess.run(
        ["/usr/bin/register-agent", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == "register-agent 0.1.0"
    script = Path("/opt/register-agent/bin/register-agent").read_text(encoding="utf-8")
    assert script.startswith("#!/opt/register-agent/bin/python\n")
    assert "build/deb" not in Path("/opt/register-agent/pyvenv.cfg").read_text(encoding="utf-8")

    unit = Path("/usr/lib/systemd/system/register-agent.service")
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")
    assert Path("/usr/lib/udev/rules.d/60-register-agent.rules").is_file()
    # the fleet's rules as installed are the repository's and load in Prometheus
    rules = deb.MONITORING / "prometheus/register-agent.rules.yml"
    promtool = subprocess.run(
        ["promtool", "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr

    example = Path("/usr/share/doc/register-agent/register-agent.example.toml")
    check = subprocess.run(
        ["register-agent", "--config", str(example), "config-check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "config ok" in check.stdout

    # doctor as the service user: the API key is missing (a failure it reports), the state
    # directory the package made is the user's to write
    doctor = subprocess.run(
        ["runuser", "-u", USER, "--", "register-agent", "--config", str(example), "doctor"],
        capture_output=True, text=True, check=False, cwd="/",
    )  # fmt: skip
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert "FAIL  API key: not set" in doctor.stdout
    assert f"PASS  state directory: {STATE} writable" in doctor.stdout

    # with a config and an API key it is enabled (and started where systemd runs), the two
    # other credentials made empty ("not set") so that systemd's LoadCredential= finds them
    config_dir = Path("/etc/register-agent")
    shutil.copy(example, config_dir / "config.toml")
    (config_dir / "api-key").write_text("package-test-key", encoding="utf-8")
    (config_dir / "api-key").chmod(0o600)
    reconfigured = subprocess.run(
        ["dpkg-reconfigure", "register-agent"],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert reconfigured.returncode == 0, reconfigured.stdout + reconfigured.stderr
    assert "NOT started" not in reconfigured.stdout
    assert WANTS.is_symlink()
    for name in ("loyalty-token-secret", "local-api-token"):
        credential = config_dir / name
        assert (credential.read_bytes(), credential.stat().st_mode & 0o777) == (b"", 0o600)

    # remove disables it and keeps the state directory and the config; purge of a till
    # without a journal leaves nothing
    removed = deb.apt("remove", "register-agent")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not Path("/opt/register-agent").exists()
    assert not WANTS.is_symlink()
    assert STATE.is_dir()
    assert (config_dir / "config.toml").is_file()
    purged = deb.apt("purge", "register-agent")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert not STATE.exists()
    assert not Path("/etc/register-agent").exists()


@pytest.mark.usefixtures("clean_machine")
def test_upgrade_keeps_the_journal_a_downgrade_is_refused_purge_asks(
    debs: dict[str, Path],
) -> None:
    _install(debs[ONE])
    scratch = deb.scratch_dir()
    try:
        agent = deb.InstalledAgent(scratch)
        # a sale whose credits wait: the Register API is down
        with agent.running() as http:
            answer = http.post(
                "/v1/sales",
                json={"sale_id": "pkg-sale-1", "amount": "12.50", "customer_card": deb.CARD},
            )
            assert answer.status_code in (200, 201, 202), answer.text
        before = deb.journal_rows()
        owed = [op for op in before["operations"] if op[0] == "pkg-sale-1"]
        assert owed, before
        assert all(state in ("pending", "unknown", "in_flight") for _, _, state in owed)

        # the upgrade keeps the journal, and the new agent migrates it when it starts
        said = _install(debs[TWO])
        assert deb.installed_version() == TWO
        assert f"(schema {before['schema']}) is migrated to schema {before['schema'] + 1}" in said
        assert deb.journal_rows() == before
        with agent.running() as http:
            assert http.get("/v1/status").status_code == 200
        after = deb.journal_rows()
        assert after["schema"] == before["schema"] + 1
        assert after["sales"] == before["sales"]
        assert [op for op in after["operations"] if op[0] == "pkg-sale-1"] == owed

        # back to ONE over a journal ONE cannot open: refused, TWO stays as it was
        refused = deb.apt("install", "--allow-downgrades", str(debs[ONE]))
        assert refused.returncode != 0
        said = refused.stdout + refused.stderr
        assert f"has schema version {after['schema']}, newer than this version knows" in said
        assert "install the newer register-agent again" in said
        assert deb.installed_version() == TWO
        assert deb.journal_rows() == after

        # purge keeps a journal that holds credits owed, and says so
        purged = deb.apt("purge", "register-agent")
        assert purged.returncode == 0, purged.stdout + purged.stderr
        assert f"KEPT the journal {JOURNAL}: it holds {len(owed)} operations" in purged.stdout
        assert deb.installed_version() is None
        assert not Path("/etc/register-agent").exists()
        assert deb.journal_rows() == after

        # a later install picks it up; purge with REGISTER_AGENT_PURGE_JOURNAL=yes removes it
        _install(debs[TWO])
        assert deb.journal_rows() == after
        purged = deb.apt("purge", "register-agent", env={"REGISTER_AGENT_PURGE_JOURNAL": "yes"})
        assert purged.returncode == 0, purged.stdout + purged.stderr
        assert "removed the journal" in purged.stdout
        assert not STATE.exists()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_the_arm64_package_is_built_here_from_wheels(debs: dict[str, Path], tmp_path: Path) -> None:
    """arm64 (a Raspberry Pi) cross-built from manylinux_aarch64 wheels and the keyboard
    extra cross-compiled: every native library in it is aarch64 code, the agent in it is
    the amd64 package's own, and its Python runs it in an arm64 root under qemu-user
    (docs/debian-package.md, "arm64")."""
    arm64 = deb.build(ONE, source=ROOT, out=tmp_path, wheelhouse=deb.WHEELS / "arm64", arch="arm64")
    fields = deb.control_fields(arm64)
    assert (fields["Architecture"], fields["Version"]) == ("arm64", ONE)
    assert fields["Depends"] == deb.control_fields(debs[ONE])["Depends"]

    trees = {arch: deb.unpack(package, tmp_path / arch) for arch, package in
             (("arm64", arm64), ("amd64", debs[ONE]))}  # fmt: skip
    machines_of = {arch: deb.elf_machines(tree) for arch, tree in trees.items()}
    assert machines_of["arm64"], "no native library in the arm64 package"
    assert set(machines_of["arm64"].values()) == {"aarch64"}, machines_of["arm64"]
    assert set(machines_of["amd64"].values()) == {"x86-64"}

    # both ship the fleet's Prometheus rules and Grafana dashboard of this checkout
    for tree in trees.values():
        shipped = tree / str(deb.MONITORING).lstrip("/")
        assert deb.files_under(shipped) == set(deb.MONITORED), deb.files_under(shipped)
        for name in deb.MONITORED:
            assert (shipped / name).read_bytes() == (ROOT / "monitoring" / name).read_bytes()

    site = "opt/register-agent/lib/python3.11/site-packages"
    agent = {arch: deb.files_under(tree / site / "register_agent") for arch, tree in trees.items()}
    assert agent["arm64"] == agent["amd64"]
    assert any(name.endswith(".pyc") for name in agent["arm64"])
    assert (trees["arm64"] / site / "usb").is_dir()
    # the keyboard extra's C extensions, which have no wheels: built for aarch64, as the
    # amd64 package has them for x86-64
    for extension in ("evdev/_input", "evdev/_ecodes", "xkbcommon/_ffi"):
        for arch, machine in (("arm64", "aarch64"), ("amd64", "x86-64")):
            built = {name: kind for name, kind in machines_of[arch].items()
                     if name.startswith(f"{site}/{extension}.")}  # fmt: skip
            assert list(built.values()) == [machine], (arch, extension, machines_of[arch])
    script = trees["arm64"] / "opt/register-agent/bin/register-agent"
    assert script.read_text(encoding="utf-8").startswith("#!/opt/register-agent/bin/python\n")
    assert (trees["arm64"] / "opt/register-agent/bin/python3").readlink() == Path(
        "/usr/bin/python3.11"
    )

    # on an arm64 root, the package's own Python (its venv, Debian's python3.11 for aarch64)
    # imports the keyboard extra and runs the agent
    till = deb.arm64_till(arm64, tmp_path / "till")
    python = "/opt/register-agent/bin/python3"
    keyboard = deb.run_arm64(till, python, "-c", (
        "import platform, evdev, evdev.ecodes; from xkbcommon import xkb\n"
        "xkb.Context().keymap_new_from_names(layout='de')\n"
        "print(platform.machine(), evdev.__file__, evdev.ecodes.KEY_A)"
    ))  # fmt: skip
    assert keyboard.returncode == 0, keyboard.stdout + keyboard.stderr
    site_evdev = f"/{site}/evdev/__init__.py"
    assert keyboard.stdout.split() == ["aarch64", site_evdev, "30"], keyboard.stdout
    example = "/usr/share/doc/register-agent/register-agent.example.toml"
    check = deb.run_arm64(
        till, python, "/opt/register-agent/bin/register-agent", "--config", example, "config-check"
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "config ok" in check.stdout
