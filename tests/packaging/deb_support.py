"""What tests/packaging/test_deb.py does to this machine: build the package with `make deb`,
install, upgrade and purge it with apt (waiting for another apt's lock as scripts/setup.sh
does), and run the installed agent as its service user, the way the unit would.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
USER = "register-agent"
STATE = Path("/var/lib/register-agent")
JOURNAL = STATE / "journal.sqlite3"
CONFIG_DIR = Path("/etc/register-agent")
PREFIX = Path("/opt/register-agent")
#: the dependencies' wheels, kept between runs (build/ is not in git)
WHEELS = ROOT / "build" / "deb" / "wheels"
APT_LOCK_TIMEOUT_S = os.environ.get("APT_LOCK_TIMEOUT_S", "600")
TOKEN = "package-test-local-token"
#: the fleet's files the package ships (monitoring/ of the repository), and where
MONITORING = Path("/usr/share/register-agent/monitoring")
MONITORED = ("prometheus/register-agent.rules.yml", "grafana/register-agent.json")
CARD = "PKGTEST0042"


def build(version: str, *, source: Path, out: Path, wheelhouse: Path, arch: str = "amd64") -> Path:
    """``make deb VERSION=...`` (this checkout) or ``packaging/deb/build.sh`` (a copy,
    which has no virtual environment of its own); the .deb it made."""
    command = ["make", "--no-print-directory", "deb"] if source == ROOT else ["./build.sh"]
    settings = {"VERSION": version, "ARCH": arch, "OUT": str(out), "WHEELHOUSE": str(wheelhouse)}
    # make passes VERSION, OUT and WHEELHOUSE from the environment on to build.sh
    result = subprocess.run(
        command,
        cwd=source if source == ROOT else source / "packaging" / "deb",
        env={**os.environ, **settings, "PIP": str(ROOT / ".venv" / "bin" / "pip")},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    deb = out / f"register-agent_{version}_{arch}.deb"
    assert deb.is_file()
    return deb


def control_fields(package: Path) -> dict[str, str]:
    """DEBIAN/control of a .deb, as a dict (its one-line fields)."""
    text = subprocess.run(
        ["dpkg-deb", "--field", str(package)], capture_output=True, text=True, check=True
    ).stdout
    return dict(
        line.split(": ", 1) for line in text.splitlines() if ": " in line and line[0] != " "
    )


def unpack(package: Path, destination: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(package), str(destination)], check=True)
    return destination


#: ELF e_machine numbers (elf.h) of the architectures a till may have
ELF_MACHINES = {62: "x86-64", 183: "aarch64", 40: "arm"}


def elf_machines(tree: Path) -> dict[str, str]:
    """Every ELF file under ``tree`` (the native libraries of the wheels): its machine."""
    found: dict[str, str] = {}
    for path in tree.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as file:
            header = file.read(20)
        if header[:4] == b"\x7fELF":
            number = int.from_bytes(header[18:20], "little")
            found[str(path.relative_to(tree))] = ELF_MACHINES.get(number, str(number))
    return found


def files_under(directory: Path) -> set[str]:
    return {str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file()}


#: the arm64 Debian root `make deb ARCH=arm64` cross-compiles the keyboard extra against
ARM64_ROOT = ROOT / "build" / "deb" / "sysroot" / "arm64"


def arm64_till(package: Path, destination: Path) -> Path:
    """A copy of that arm64 root (hard links: quick, and the package's files are all new
    paths in it) with ``package`` unpacked into it, as a Pi's disk would hold it."""
    subprocess.run(["cp", "-al", str(ARM64_ROOT), str(destination)], check=True)
    unpack(package, destination)
    qemu = shutil.which("qemu-aarch64-static")
    assert qemu, "qemu-aarch64-static is missing: install qemu-user-static (make setup does)"
    shutil.copy2(qemu, destination / "usr/bin")
    return destination


def run_arm64(till: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``argv`` run in ``till`` (chroot) by qemu-aarch64-static, named by its path: the
    kernel's binfmt handler for arm64 is not needed (a container seldom may register one)."""
    return subprocess.run(
        ["/usr/sbin/chroot", str(till), "/usr/bin/qemu-aarch64-static", *argv],
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def copy_with_one_more_migration(destination: Path) -> Path:
    """The source as a later version would have it: one more journal migration."""
    ignore = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*_cache", "__pycache__")
    shutil.copytree(ROOT, destination, ignore=ignore)
    schema = destination / "register_agent" / "journal" / "schema.py"
    schema.write_text(
        schema.read_text(encoding="utf-8")
        + '\nMIGRATIONS = (*MIGRATIONS, "CREATE TABLE package_test_later (id INTEGER);")\n',
        encoding="utf-8",
    )
    return destination


def apt(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``apt-get ARGS``, non-interactive, waiting for another apt's lock (not failing)."""
    return subprocess.run(
        ["apt-get", "-y", "-o", f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT_S}", *args],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive", **(env or {})},
        capture_output=True, text=True, timeout=int(APT_LOCK_TIMEOUT_S) + 300, check=False,
    )  # fmt: skip


def installed_version() -> str | None:
    """The version dpkg has installed and configured, or None."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version} ${db:Status-Abbrev}", "register-agent"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0 or result.stdout.split()[1:] != ["ii"]:
        return None
    return result.stdout.split()[0]


def user_exists() -> bool:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return False
    return True


def scrub(*, remove_user: bool) -> None:
    """Leave the machine as before the test: purged, journal and all."""
    apt("purge", "register-agent", env={"REGISTER_AGENT_PURGE_JOURNAL": "yes"})
    for path in (STATE, CONFIG_DIR, PREFIX, Path("/var/cache/register-agent")):
        shutil.rmtree(path, ignore_errors=True)
    if remove_user and user_exists():
        subprocess.run(["userdel", USER], check=False, capture_output=True)
        subprocess.run(["groupdel", USER], check=False, capture_output=True)


def as_service_user(*command: str) -> list[str]:
    """``command`` as the service user with its groups (dialout, lp), as the unit sets it."""
    return ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups", "--", *command]


def journal_rows() -> dict[str, Any]:
    """The journal's schema version, operations and sales, read as the service user (a
    ``-shm`` file made by root would lock the agent out of its own journal)."""
    script = (
        "import json, sqlite3, sys\n"
        "db = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True)\n"
        "print(json.dumps({'schema': db.execute('PRAGMA user_version').fetchone()[0],\n"
        " 'operations': db.execute('SELECT sale_id, kind, state FROM operations').fetchall(),\n"
        " 'sales': [r[0] for r in db.execute('SELECT sale_id FROM sales')]}))\n"
    )
    result = subprocess.run(
        as_service_user("/usr/bin/python3", "-c", script, str(JOURNAL)),
        capture_output=True, text=True, check=True, cwd="/",
    )  # fmt: skip
    rows: dict[str, Any] = json.loads(result.stdout)
    return rows


class InstalledAgent:
    """``/usr/bin/register-agent run`` as the service user, on the installed state
    directory, with a Register API that is down (a closed port): sales wait in the outbox."""

    def __init__(self, scratch: Path) -> None:
        self.api_port = free_port()
        scratch.chmod(0o755)  # the service user reads its config and credentials here
        credentials = scratch / "credentials"
        credentials.mkdir(exist_ok=True)
        for name, value in (("api-key", "package-test-key"), ("local-api-token", TOKEN)):
            (credentials / name).write_text(value, encoding="utf-8")
        shutil.chown(credentials, USER, USER)
        for file in credentials.iterdir():
            shutil.chown(file, USER, USER)
        self.config = scratch / "config.toml"
        self.config.write_text(
            f"""
[api]
version = "v1"
base_url = "http://127.0.0.1:{free_port()}"
connect_timeout_s = 0.5
read_timeout_s = 1.0

[state]
directory = "{STATE}"

[till]
receipt_wait_s = 0

[local_api]
listen = "127.0.0.1:{self.api_port}"
metrics_listen = ""

[printer]
kind = "virtual"
""",
            encoding="utf-8",
        )
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(STATE),
            "CREDENTIALS_DIRECTORY": str(credentials),
        }
        self.log = scratch / "agent.log"
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.api_port}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )

    @contextlib.contextmanager
    def running(self) -> Iterator[httpx.Client]:
        """The agent started and answering; stopped with SIGTERM (its clean stop) after."""
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                as_service_user("/usr/bin/register-agent", "--config", str(self.config), "run"),
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd="/",
            )  # fmt: skip
        try:
            self._wait_until_answering(process)
            yield self.http
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        assert process.returncode == 0, self.log.read_text(errors="replace")

    def _wait_until_answering(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the agent stopped: {self.log.read_text(errors='replace')}")
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get("/v1/status").status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"the agent never answered: {self.log.read_text(errors='replace')}")


def scratch_dir() -> Path:
    """A directory the service user can reach (pytest's tmp_path is root's alone)."""
    return Path(tempfile.mkdtemp(prefix="register-agent-deb-", dir="/tmp"))
