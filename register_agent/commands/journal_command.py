"""``register-agent journal recover`` and ``journal reset``: the operator's decision the
agent waits for when it refuses to start on a journal that is lost, damaged or not this
till's (``journal/identity.py``); the work itself is ``journal/salvage.py``'s. Without
``--yes`` each only says what it would do and what it loses.
"""

from __future__ import annotations

import argparse

RECOVER = """\
register-agent journal recover: the agent must be stopped (systemctl stop register-agent).
It keeps the journal {journal} aside (renamed, with its -wal and -shm files), and copies
every row SQLite can still read of it into a new journal, this till's from then on.
What it loses:
- the rows SQLite cannot read (the damaged pages), and whatever was only in a lost -wal
  file: those sales, if the POS sends them again, are recorded and credited anew;
- nothing of what it copies: every operation not finished is set to "unknown", so the
  outbox checks with the Register API before anything is sent again (on v1, where
  nothing can tell, it goes to `register-agent review`)."""

RESET = """\
register-agent journal reset: the agent must be stopped (systemctl stop register-agent).
It keeps the journal {journal} aside (renamed, with its -wal and -shm files) and starts an
empty journal, this till's from then on. What it loses:
- every sale, operation and print job of the old journal: credits not yet delivered are
  not sent (their sales are lost to this till; check the Business Dashboard), and receipts
  not yet printed are not printed;
- the memory of which sales were credited: a sale the POS sends again is recorded as new
  and credited a second time (neither v1 nor v3 of the Register API offers a way to ask
  whether a sale was credited). Prefer `register-agent journal recover` when the old
  journal can still be read at all."""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    journal = commands.add_parser(
        "journal",
        help="decide on a journal the agent refuses to start on: recover or reset",
        description="The agent refuses to start on a journal that is missing, empty, "
        "damaged, another till's, or has lost rows, and names these two ways on. Run one "
        "with the agent stopped; without --yes it only says what it would do and lose.",
    )
    actions = journal.add_subparsers(dest="journal_action", required=True, metavar="ACTION")
    for name, text in (
        ("recover", "keep what SQLite can read of the journal in a new one"),
        ("reset", "start an empty journal (sales the POS sends again are credited again)"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("--yes", action="store_true", help="do it (without: only say)")
        action.set_defaults(handler=_journal)


def _journal(args: argparse.Namespace) -> int:
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)
    from register_agent.journal.admin import journal_path  # noqa: PLC0415
    from register_agent.journal.salvage import recover, reset  # noqa: PLC0415

    path = journal_path(load_config(args.config).state.directory)
    recovering = args.journal_action == "recover"
    print((RECOVER if recovering else RESET).format(journal=path))
    if not args.yes:
        go_ahead = f"register-agent journal {args.journal_action} --yes"
        print(f"\nNothing was changed. To go ahead: {go_ahead}")
        return 1
    result = recover(path) if recovering else reset(path)
    print()
    if result.aside is None:
        print(f"There was no journal at {path} to keep aside.")
    else:
        print(f"The old journal is kept at {result.aside} (delete it once you are sure).")
    if recovering:
        copied = ", ".join(f"{rows} {table}" for table, rows in result.copied.items() if rows)
        print(f"Copied into the new journal: {copied or 'nothing (no row could be read)'}.")
        for table, what in result.unreadable.items():
            print(f"Lost from {table}: {what}.")
        if result.reconciled:
            print(f"{result.reconciled} unfinished operations are checked before any resend.")
    else:
        print(f"A new, empty journal is at {path}.")
    print("Start the agent again: systemctl start register-agent")
    return 0
