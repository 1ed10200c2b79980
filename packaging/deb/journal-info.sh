# journal_info (shared by the maintainer scripts; build.sh puts it in each) sets
# journal_path, journal_schema and journal_unsent of this till's journal; journal_path is
# empty when there is none, or when it cannot be read (said on stderr: the agent itself
# refuses a journal newer than it knows, so the package's check is not the last one).
# journal_schema is its PRAGMA user_version (the migrations applied), journal_unsent the
# operations not yet delivered (credits customers are owed: pending, in flight, unknown,
# or for review).
journal_info() {
  journal_path="" journal_schema="" journal_unsent=""
  python=$(command -v python@PY_VERSION@ || command -v python3) || return 0
  found=$("$python" - <<'PY'
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
print(schema, unsent, path, sep="\n")
PY
  ) || { echo "register-agent: could not read the journal's schema version" >&2; return 0; }
  [ -n "$found" ] || return 0
  journal_schema=$(echo "$found" | sed -n 1p)
  journal_unsent=$(echo "$found" | sed -n 2p)
  journal_path=$(echo "$found" | sed -n 3p)
}
