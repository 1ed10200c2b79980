#!/usr/bin/env bash
# Sets up everything `make run` and `make test` need on a fresh Debian / Raspberry Pi OS
# machine: the system packages (through apt when root) and the virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
# python3-venv: fresh Debian lacks ensurepip; zbar-tools: tests decode receipt QR codes;
# gcc, python3-dev, linux-libc-dev:
# building evdev (keyboard-wedge readers, in the dev extra), which has no wheels.
# systemd, udev: systemd-analyze, systemd-sysusers and udevadm check the files in systemd/
# (nothing is started: the checks read the files offline).
SYSTEM_PACKAGES=(python3-venv zbar-tools openssl gcc python3-dev linux-libc-dev systemd udev)

missing=()
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then missing+=(python3-venv); fi
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
# openssl: a test makes a self-signed certificate to prove TLS verification stays on
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
"$PYTHON" -c 'import os, sysconfig; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' \
  >/dev/null 2>&1 || missing+=(python3-dev)
[ -e /usr/include/linux/input.h ] || missing+=(linux-libc-dev)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v udevadm >/dev/null 2>&1 || missing+=(udev)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: these system packages are missing: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install ${SYSTEM_PACKAGES[*]}" >&2
    exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating the virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
echo "setup: ready ($VENV)"
