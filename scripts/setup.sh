#!/usr/bin/env bash
# Sets up everything `make run` and `make test` need on a fresh Debian / Raspberry Pi OS
# machine: the system packages of scripts/system-packages.txt (through apt when root) and
# the virtual environment. `scripts/setup.sh system-packages` does the first step only.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
PACKAGES_FILE=${SYSTEM_PACKAGES_FILE:-scripts/system-packages.txt}
# The locks apt and dpkg take (fcntl locks). Another apt holding them (unattended-upgrades
# on a freshly booted machine, a second terminal) makes apt-get fail at once.
APT_LOCKS=${APT_LOCKS:-/var/lib/dpkg/lock-frontend:/var/lib/dpkg/lock:/var/lib/apt/lists/lock:/var/cache/apt/archives/lock}
APT_LOCK_TIMEOUT_S=${APT_LOCK_TIMEOUT_S:-600}

mapfile -t SYSTEM_PACKAGES < <(sed -e 's/#.*//' "$PACKAGES_FILE" | awk 'NF { print $1 }')

# Whether a package's part that setup needs is there (by what it provides, so a machine
# that has it some other way is not asked to install it).
present() {
  case "$1" in
    python3-venv) "$PYTHON" -c 'import ensurepip, venv' ;;
    zbar-tools) command -v zbarimg ;;
    openssl) command -v openssl ;;
    gcc) command -v gcc ;;
    python3-dev)
      "$PYTHON" -c 'import os, sysconfig; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' ;;
    linux-libc-dev) [ -e /usr/include/linux/input.h ] ;;
    systemd) command -v systemd-analyze ;;
    udev) command -v udevadm ;;
    *) dpkg-query -W -f='${Status}' "$1" | grep -q 'install ok installed' ;;
  esac >/dev/null 2>&1
}

# The first of APT_LOCKS another process holds, as "PATH (pid N)"; fails when none is held.
# F_GETLK only asks: taking the lock, even for a moment, could make that apt fail.
apt_lock_held() {
  "$PYTHON" - "$APT_LOCKS" <<'PY'
import fcntl, os, struct, sys
for path in sys.argv[1].split(":"):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        continue  # no such lock (apt never ran) or not readable: nothing to wait for there
    try:
        # struct flock: l_type, l_whence, l_start, l_len, l_pid
        query = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        kind, _, _, _, pid = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, query))
    finally:
        os.close(fd)
    if kind != fcntl.F_UNLCK:
        print(f"{path} (pid {pid})")
        sys.exit(0)
sys.exit(1)
PY
}

wait_for_apt() {
  local start=$SECONDS held
  while held=$(apt_lock_held); do
    if [ $((SECONDS - start)) -ge "$APT_LOCK_TIMEOUT_S" ]; then
      echo "setup: another package manager still holds $held after ${APT_LOCK_TIMEOUT_S} s;" \
        "let it finish (ps -p PID shows what it is), then run make again" >&2
      exit 1
    fi
    if [ -z "${announced:-}" ]; then
      echo "setup: another package manager holds $held; waiting for it to finish" \
        "(up to ${APT_LOCK_TIMEOUT_S} s)" >&2
      announced=1
    fi
    sleep 1
  done
  if [ -n "${announced:-}" ]; then
    echo "setup: the package manager is free after $((SECONDS - start)) s" >&2
  fi
}

system_packages() {
  local missing=() package
  for package in "${SYSTEM_PACKAGES[@]}"; do
    present "$package" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system packages: ${missing[*]}"
    # apt's own wait covers the moment between the check above and apt-get taking the lock
    local wait=(-o "DPkg::Lock::Timeout=$APT_LOCK_TIMEOUT_S")
    wait_for_apt
    apt-get "${wait[@]}" update -qq
    wait_for_apt
    DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: these system packages are missing: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install ${SYSTEM_PACKAGES[*]}" >&2
    exit 1
  fi
}

virtual_environment() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating the virtual environment in $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  echo "setup: ready ($VENV)"
}

case "${1:-all}" in
  system-packages) system_packages ;;
  all) system_packages; virtual_environment ;;
  *) echo "usage: scripts/setup.sh [system-packages]" >&2; exit 2 ;;
esac
