#!/usr/bin/env bash
# Part of `make deb ARCH=arm64` (build.sh): the wheels PyPI has no aarch64 build of, the
# `keyboard` extra's evdev and xkbcommon (C extensions), cross-compiled on this amd64
# machine into the wheelhouse, where build.sh's `pip download --platform linux_aarch64`
# then finds them like any other wheel (docs/debian-package.md, "arm64").
#
# The compiler is Debian's aarch64-linux-gnu-gcc; the headers and libraries it builds
# against (Python's pyconfig.h for aarch64, linux/input.h, libxkbcommon) are those of an
# arm64 Debian root that mmdebstrap unpacks without running anything in it (`--variant
# extract`, no emulator needed), kept in build/deb/sysroot/arm64 between builds. The same
# root, with qemu-user-static, is where tests/packaging/test_deb.py imports the result.
#
# Usage: cross-wheels.sh WHEELHOUSE SYSROOT TARGET_PYTHON PIP REQUIREMENT...
set -euo pipefail
WHEELHOUSE=$1 SYSROOT=$2 TARGET_PYTHON=$3 PIP=$4
shift 4
CC_ARM64=aarch64-linux-gnu-gcc

die() { echo "make deb: $*" >&2; exit 1; }

for tool in "$CC_ARM64:gcc-aarch64-linux-gnu" "mmdebstrap:mmdebstrap"; do
  command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} is missing: install the Debian \
package ${tool#*:} (scripts/system-packages.txt), or build without keyboard-wedge readers \
(EXTRAS=usb)"
done

PY_VERSION=$("$TARGET_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# The arm64 root is the Debian release this machine runs: the package's Python (it depends
# on python3.X) is the one a till of that release has, and so is its pyconfig.h.
SUITE=$(. /etc/os-release && echo "$VERSION_CODENAME")
if [ ! -e "$SYSROOT/.complete" ]; then
  echo "make deb: unpacking an arm64 Debian $SUITE root into $SYSROOT (once; kept for later builds)"
  rm -rf "$SYSROOT"
  mkdir -p "$(dirname "$SYSROOT")"
  # python3.X-minimal and the stdlib: not needed to compile, but the test runs the
  # package's Python in this root. ${MIRROR:-} empty: mmdebstrap's default Debian mirror.
  mmdebstrap --quiet --mode=auto --variant=extract --architectures=arm64 \
    --include="libpython$PY_VERSION-dev,python$PY_VERSION-minimal,libpython$PY_VERSION-stdlib,libc6-dev,linux-libc-dev,libxkbcommon-dev,xkb-data" \
    "$SUITE" "$SYSROOT" ${MIRROR:+"$MIRROR"} >/dev/null ||
    die "mmdebstrap could not unpack an arm64 root (is Debian's mirror reachable?)"
  touch "$SYSROOT/.complete"
fi
[ -e "$SYSROOT/usr/include/aarch64-linux-gnu/python$PY_VERSION/pyconfig.h" ] ||
  die "$SYSROOT has no Python $PY_VERSION headers for aarch64: remove it and build again"

# The build backends (setuptools, cffi) run natively, in a venv of their own on the target
# Python's version; pip's own build isolation cannot be used, since the platform variable
# below would make it fetch aarch64 wheels of them.
WORK=$(dirname "$SYSROOT")/cross-env
if [ ! -x "$WORK/bin/python" ]; then
  "$TARGET_PYTHON" -m venv --without-pip "$WORK"
  "$PIP" --python "$WORK/bin/python" install --quiet --no-cache-dir 'setuptools>=68' wheel cffi
fi

names=()
for requirement in "$@"; do
  names+=("$(echo "$requirement" | sed -E 's/^([A-Za-z0-9_.-]+).*/\1/')")
done
echo "make deb: cross-compiling ${names[*]} for aarch64 ($CC_ARM64, headers from $SYSROOT)"
# _PYTHON_HOST_PLATFORM names the wheel linux_aarch64; SETUPTOOLS_EXT_SUFFIX names the
# modules as an aarch64 Python looks for them; CFLAGS' -I puts the arm64 Python.h before
# the building Python's own; evdev reads linux/input.h from CPATH (its setup.py).
# CFLAGS' -isystem puts the root's headers before the cross compiler's own
# (/usr/aarch64-linux-gnu/include, gcc-aarch64-linux-gnu's kernel headers, older than the
# release's): evdev writes its key codes from the root's and this machine's linux/input.h
# and then compiles them, and a key code newer than the compiler's headers was undeclared
# (KEY_LINK_PHONE, Debian 12's linux-libc-dev 6.1.187 against the cross headers' 6.1.4). A
# CPATH entry cannot do it: gcc drops one that names a directory it already searches.
# --no-cache-dir: pip's wheel cache is keyed without the platform.
ROOT_HEADERS="-isystem $SYSROOT/usr/include/aarch64-linux-gnu -isystem $SYSROOT/usr/include"
env CC="$CC_ARM64 --sysroot=$SYSROOT" LDSHARED="$CC_ARM64 --sysroot=$SYSROOT -shared" \
  CFLAGS="-I$SYSROOT/usr/include/python$PY_VERSION $ROOT_HEADERS" CPATH="$SYSROOT/usr/include" \
  _PYTHON_HOST_PLATFORM=linux-aarch64 \
  SETUPTOOLS_EXT_SUFFIX=".cpython-${PY_VERSION/./}-aarch64-linux-gnu.so" \
  "$PIP" --python "$WORK/bin/python" wheel --quiet --no-build-isolation --no-cache-dir \
  --no-deps --no-binary "$(IFS=,; echo "${names[*]}")" --wheel-dir "$WHEELHOUSE" "$@" ||
  die "cross-compiling ${names[*]} failed (the output above says why)"
