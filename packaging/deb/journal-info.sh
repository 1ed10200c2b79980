# journal_info (shared by the maintainer scripts; build.sh puts it in each): prints
# "SCHEMA UNSENT PATH" of this till's journal, or nothing when there is none. SCHEMA is its
# PRAGMA user_version (the migrations applied), UNSENT the operations not yet delivered
# (credits a customer has not received yet: pending, in flight, unknown, or for review).
journal_info() {
  python=$(command -v python@PY_VERSION@ || command -v python3) || return 0
  "$python" - <<'PY'
import os
import sqlite3
import sys
import tomllib
from pathlib import Path

directory = Path("/var/lib/register-agent")
try:
    with open("/etc/register-agent/config.toml", "rb") as file:
        directory = Path(tomllib.load(file).get("state", {}).get("directory", directory))
except (OSError, ValueError):
    pass  # no config (or one the agent would refuse anyway): the unit's StateDirectory=
path = directory / "journal.sqlite3"
if not path.is_file():
    sys.exit(0)
owner = path.stat()
if os.getuid() == 0 and owner.st_uid != 0:
    # as the journal's owner: a -shm file SQLite may create must stay the agent's to write
    os.setgroups([])
    os.setgid(owner.st_gid)
    os.setuid(owner.st_uid)
unsent = "?"
try:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)
    schema = db.execute("PRAGMA user_version").fetchone()[0]
    try:
        unsent = db.execute(
            "SELECT count(*) FROM operations"
            " WHERE state IN ('pending', 'in_flight', 'unknown', 'review')"
        ).fetchone()[0]
    except sqlite3.Error:
        pass
except sqlite3.Error:
    # SQLite cannot open it (damaged): the version stands in the file's header all the same
    with path.open("rb") as file:
        header = file.read(100)
    schema = int.from_bytes(header[60:64], "big") if len(header) == 100 else 0
print(schema, unsent, path)
PY
}
