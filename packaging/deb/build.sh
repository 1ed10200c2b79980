#!/usr/bin/env bash
# `make deb`: builds dist/register-agent_<version>_<arch>.deb, the agent and its dependencies
# in a virtual environment at /opt/register-agent, with the unit, udev rules, sysusers file,
# example config and the maintainer scripts of packaging/deb/ (README "Installing from the
# package"; tested by tests/packaging/test_deb.py, which installs it with apt).
#
# The virtual environment is built in a staging directory (no chroot, nothing written under
# /opt of the build machine) and then made to belong at /opt/register-agent: a venv holds
# its own path only in the scripts' shebangs, bin/activate* and pyvenv.cfg's `command`
# line, which are rewritten; the bytecode is compiled with the final paths (-s/-p); the
# build fails if the staging path is left anywhere in the tree. Its python is Debian's
# /usr/bin/python3.X (the package depends on python3.X), never the builder's own Python.
#
# Settings (environment or make variables):
#   VERSION     the package's version (default: pyproject's); the upgrade test builds two
#   ARCH        amd64 (default: this machine's) or arm64 (docs/debian-package.md)
#   OUT         where the .deb goes (default dist/)
#   WHEELHOUSE  the dependencies' wheels, kept between builds (default build/deb/wheels/ARCH)
#   PIP         the pip that resolves and installs (default .venv/bin/pip: pip >= 22.3 for
#               --python, so the staged venv carries no pip of its own)
#   TARGET_PYTHON  the Debian Python the venv runs on (default /usr/bin/python3)
#   EXTRAS      the agent's extras in the package (default usb,keyboard)
#   SYSROOT     arm64 only: the arm64 Debian root the keyboard extra is cross-compiled
#               against, unpacked once (default build/deb/sysroot/arm64); MIRROR its mirror
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=packaging/deb

TARGET_PYTHON=${TARGET_PYTHON:-/usr/bin/python3}
PIP=${PIP:-.venv/bin/pip}
ARCH=${ARCH:-$(dpkg --print-architecture)}
OUT=${OUT:-dist}
WHEELHOUSE=$(realpath -m "${WHEELHOUSE:-build/deb/wheels/$ARCH}")
NATIVE_ARCH=$(dpkg --print-architecture)
# The extras in the package: USB printers (pyusb) and keyboard-wedge readers (evdev,
# xkbcommon). Those two ship no wheels and build from C: natively here, and for arm64
# cross-compiled by cross-wheels.sh (docs/debian-package.md).
EXTRAS=${EXTRAS:-usb,keyboard}
SYSROOT=$(realpath -m "${SYSROOT:-build/deb/sysroot/$ARCH}")
PREFIX=/opt/register-agent

die() { echo "make deb: $*" >&2; exit 1; }

for tool in dpkg-deb "$TARGET_PYTHON"; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian package dpkg-dev / python3)"
done
[ -x "$PIP" ] || die "$PIP is missing: run make setup first (or set PIP=)"

# The agent's own facts, read from the source being packaged.
VERSION=${VERSION:-$("$TARGET_PYTHON" -c \
  'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')}
[[ $VERSION =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "VERSION=$VERSION is no Debian version (e.g. 0.2.0)"
# The journal schema this build's agent knows: its preinst refuses a journal newer than
# that (a downgrade), since the older agent could not open it.
SCHEMA_VERSION=$(PYTHONPATH=. "$(dirname "$PIP")/python" -c \
  'from register_agent.journal.schema import MIGRATIONS; print(len(MIGRATIONS))')
PY_VERSION=$("$TARGET_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PY_TAG=cp${PY_VERSION/./}

case $ARCH in
  "$NATIVE_ARCH") PLATFORM_ARGS=() ;;
  # Debian 12's glibc is 2.36: every manylinux tag up to it, named one by one (pip does
  # not count down from a --platform it is given); linux_aarch64 for a wheel built by hand
  # into the wheelhouse (evdev, docs/debian-package.md)
  arm64)
    PLATFORM_ARGS=(--platform manylinux2014_aarch64 --platform linux_aarch64
                   --implementation cp --python-version "$PY_VERSION"
                   --abi "$PY_TAG" --abi abi3 --abi none --only-binary=:all:)
    for glibc in $(seq 17 36); do
      PLATFORM_ARGS+=(--platform "manylinux_2_${glibc}_aarch64")
    done ;;
  *) die "ARCH=$ARCH: this script builds for this machine's architecture or arm64" ;;
esac

WORK=build/deb/$ARCH
STAGE=$(realpath -m "$WORK/root")
VENV=$STAGE$PREFIX
rm -rf "$WORK"
mkdir -p "$WORK/project" "$WHEELHOUSE" "$OUT" "$STAGE/DEBIAN"

echo "make deb: register-agent $VERSION for $ARCH (journal schema $SCHEMA_VERSION, Python $PY_VERSION, extras $EXTRAS)"

# The agent's wheel, fresh every time (the wheelhouse would keep a stale one of the same
# version), then its dependencies' wheels into the wheelhouse. Each pip call tries the
# wheelhouse alone first (no index: quicker, and the same wheels as the last build), and the
# package index only for what it lacks; `rm -r build/deb/wheels` takes newer releases.
offline_first() { PIP_NO_INDEX=1 PIP_FIND_LINKS=$WHEELHOUSE "$@" 2>/dev/null || "$@"; }
offline_first "$PIP" wheel --quiet --no-deps --wheel-dir "$WORK/project" .
PROJECT_WHEEL=$(ls "$WORK"/project/register_agent-*.whl)
if [ ${#PLATFORM_ARGS[@]} -eq 0 ]; then
  # setuptools too: what the next build's wheel of the agent is built with, offline
  offline_first "$PIP" wheel --quiet --wheel-dir "$WHEELHOUSE" --find-links "$WHEELHOUSE" \
    "$PROJECT_WHEEL[$EXTRAS]" 'setuptools>=68'
else
  # the keyboard extra's C extensions, cross-compiled into the wheelhouse when not there yet
  if [[ ,$EXTRAS, == *,keyboard,* ]]; then
    mapfile -t missing < <("$TARGET_PYTHON" - "$WHEELHOUSE" <<'PY'
import glob, re, sys, tomllib
extra = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["keyboard"]
for requirement in extra:
    name = re.match(r"[A-Za-z0-9_.-]+", requirement).group().lower().replace("-", "_")
    if not glob.glob(f"{sys.argv[1]}/{name}-*linux_aarch64.whl"):
        print(requirement)
PY
    )
    [ ${#missing[@]} -eq 0 ] ||
      "$HERE/cross-wheels.sh" "$WHEELHOUSE" "$SYSROOT" "$TARGET_PYTHON" "$PIP" "${missing[@]}"
  fi
  offline_first "$PIP" download --quiet --dest "$WHEELHOUSE" --find-links "$WHEELHOUSE" \
    "${PLATFORM_ARGS[@]}" "$PROJECT_WHEEL[$EXTRAS]" ||
    die "not every dependency has an $ARCH wheel (see docs/debian-package.md)"
fi

"$TARGET_PYTHON" -m venv --without-pip "$VENV"
if [ ${#PLATFORM_ARGS[@]} -eq 0 ]; then
  "$PIP" --python "$VENV/bin/python" install --quiet --no-index --no-compile \
    --find-links "$WHEELHOUSE" "$PROJECT_WHEEL[$EXTRAS]"
else
  "$PIP" install --quiet --no-index --no-compile --find-links "$WHEELHOUSE" \
    "${PLATFORM_ARGS[@]}" --target "$VENV/lib/python$PY_VERSION/site-packages" \
    "$PROJECT_WHEEL[$EXTRAS]"
  # --target writes the console script with this machine's Python: written below instead
  rm -rf "$VENV/lib/python$PY_VERSION/site-packages/bin"
  printf '%s\n' "#!$PREFIX/bin/python" 'import sys' 'from register_agent.cli import main' \
    'sys.exit(main())' >"$VENV/bin/register-agent"
  chmod 0755 "$VENV/bin/register-agent"
fi

# --- make the venv belong at /opt/register-agent -------------------------------------------
for file in "$VENV"/bin/*; do
  [ -L "$file" ] || ! grep -qI . "$file" || sed -i "s#$VENV#$PREFIX#g" "$file"
done
sed -i "s#$VENV#$PREFIX#g" "$VENV/pyvenv.cfg"
# Debian's python3.X by its own name: a later default python3 must not move the agent.
ln -sfn "/usr/bin/python$PY_VERSION" "$VENV/bin/python3"
ln -sfn python3 "$VENV/bin/python"
ln -sfn python3 "$VENV/bin/python$PY_VERSION"
# pip's record of where the wheel came from (a path on the build machine)
find "$VENV" -name direct_url.json -path '*.dist-info/*' -delete
sed -i '/direct_url.json/d' "$VENV"/lib/python*/site-packages/*.dist-info/RECORD
# Bytecode with the final paths, so a till never writes it (the unit's ProtectSystem=strict
# would not let it) and tracebacks name /opt. Same interpreter version is a must for the
# .pyc's magic number: amd64 and arm64 share it.
"$TARGET_PYTHON" -m compileall -q -j 0 -s "$STAGE" -p / "$VENV/lib" >/dev/null
leftover=$(grep -rlI -- "$STAGE" "$STAGE" || true)
[ -z "$leftover" ] || die "the staging path is still in: $(echo "$leftover" | head -3)"

# --- the system's files --------------------------------------------------------------------
install -d "$STAGE/usr/bin" "$STAGE/usr/lib/systemd/system" "$STAGE/usr/lib/sysusers.d" \
  "$STAGE/usr/lib/udev/rules.d" "$STAGE/usr/share/doc/register-agent"
ln -s "$PREFIX/bin/register-agent" "$STAGE/usr/bin/register-agent"
grep -q "^ExecStart=$PREFIX/bin/register-agent run$" systemd/register-agent.service ||
  die "systemd/register-agent.service: ExecStart= is not $PREFIX/bin/register-agent run"
install -m 0644 systemd/register-agent.service "$STAGE/usr/lib/systemd/system/"
install -m 0644 systemd/sysusers.d/register-agent.conf "$STAGE/usr/lib/sysusers.d/"
install -m 0644 systemd/udev/60-register-agent.rules "$STAGE/usr/lib/udev/rules.d/"
install -m 0644 config/register-agent.example.toml "$STAGE/usr/share/doc/register-agent/"
install -m 0644 "$HERE/copyright" "$STAGE/usr/share/doc/register-agent/"
# The fleet's Prometheus rules and Grafana dashboard, the same version as the agent whose
# metrics they read; under /usr/share, not /usr/share/doc, which a minimal system may drop
# (dpkg's path-exclude) and whose files no program should need.
install -D -m 0644 -t "$STAGE/usr/share/register-agent/monitoring/prometheus" \
  monitoring/prometheus/register-agent.rules.yml
install -D -m 0644 -t "$STAGE/usr/share/register-agent/monitoring/grafana" \
  monitoring/grafana/register-agent.json

# --- DEBIAN/ -------------------------------------------------------------------------------
for script in preinst postinst prerm postrm; do
  sed -e "/^# @JOURNAL_INFO@\$/{r $HERE/journal-info.sh" -e 'd}' "$HERE/$script" |
    sed -e "s/@SCHEMA_VERSION@/$SCHEMA_VERSION/g" -e "s/@VERSION@/$VERSION/g" \
      -e "s/@PY_VERSION@/$PY_VERSION/g" >"$STAGE/DEBIAN/$script"
  chmod 0755 "$STAGE/DEBIAN/$script"
done
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@PY_VERSION@/$PY_VERSION/g" \
  -e "s/@INSTALLED_SIZE@/$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)/" \
  "$HERE/control" >"$STAGE/DEBIAN/control"

DEB=$OUT/register-agent_${VERSION}_$ARCH.deb
# --root-owner-group: every file root's, without fakeroot. zstd: Debian 12's dpkg reads it
# (1.21.18 and later), 20 times quicker to make than gzip -9 and smaller
dpkg-deb --root-owner-group -Zzstd --build "$STAGE" "$DEB" >/dev/null
echo "make deb: $DEB"
