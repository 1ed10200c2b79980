"""``register-agent status``: the whole till in a few lines, asked of the running agent
(``GET /v1/status`` on its local API), with an exit code a monitoring script can use.

Exit codes follow the monitoring-plugin states (OK, WARNING, CRITICAL, UNKNOWN): 0 healthy,
1 degraded (the agent runs, but the Register API, the printer, a reader or the outbox needs
attention), 2 not running, 3 cannot tell (the config or the token cannot be read, or the
token is refused). A command-line mistake exits 64 (EX_USAGE, cli.py), never one of these,
so a check cannot read a typo in its own command as "the agent is down". ``--json`` prints
the same answer as one JSON object (``machine_readable``; docs/machine-readable.md).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from register_agent.errors import AgentUnreachable

HEALTHY, DEGRADED, NOT_RUNNING, UNKNOWN = 0, 1, 2, 3

#: the token file the agent writes when the installer gave no token (api/auth.py); named
#: here too so that `status` need not import the local API's web stack to find it
TOKEN_FILE = "local-api-token"  # noqa: S105 (a file name, not a secret)

_API_WORDS = {
    "reachable": "reachable",
    "unreachable": "UNREACHABLE",
    "key_refused": "KEY REFUSED",
    "unknown": "not checked yet",
}
_JOURNAL_WORDS = {"disk_full": "DISK FULL (sales refused)", "damaged": "DAMAGED (sales refused)"}
#: printer states in which the till is fine; "none" is a till whose POS prints
_PRINTER_FINE = ("online", "none", "not checked yet")


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = commands.add_parser(
        "status",
        help="the running agent's state in a few lines (exit 0 ok, 1 degraded, 2 down, "
        "3 cannot tell, 64 usage)",
        description="Ask the running agent (GET /v1/status on its local API) how the till is "
        "doing. Exit status: 0 healthy; 1 degraded (the Register API, the printer, a reader "
        "or the outbox needs attention); 2 the agent is not running; 3 cannot tell (the "
        "config or the local API token cannot be read, or the token is refused); 64 a "
        "mistake in the command line.",
    )
    status.add_argument(
        "--json",
        action="store_true",
        help="one JSON object instead of the lines (fields: docs/machine-readable.md)",
    )
    status.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="the agent's state directory, where its token is (default: [state] directory; "
        "for `run --sandbox`, the directory it printed at start)",
    )
    status.add_argument(
        "--listen", default=None, help="the local API's address (default: [local_api] listen)"
    )
    status.add_argument("--timeout", type=float, default=3.0, help="seconds to wait (default 3)")
    status.set_defaults(handler=status_command)


def status_command(args: argparse.Namespace) -> int:
    code, listen, reason, till = _ask(args)
    if args.json:
        from register_agent.commands.machine_readable import status_answer  # noqa: PLC0415

        print(status_answer(code, listen=listen, reason=reason, till=till))
    else:
        print(describe(till) if till is not None else reason)
    return code


Answer = tuple[int, str | None, str | None, dict[str, Any] | None]


def _ask(args: argparse.Namespace) -> Answer:
    """(exit code, the address asked, why it is not healthy in words, the till's status)."""
    from register_agent.commands.local_client import JsonClient  # noqa: PLC0415

    try:
        listen, token, token_file = _how_to_ask(args)
    except _CannotTell as exc:
        return UNKNOWN, exc.listen, str(exc), None
    try:
        reply = JsonClient(listen, token, timeout_s=args.timeout).get("/v1/status")
    except AgentUnreachable as exc:
        return NOT_RUNNING, listen, f"Agent: NOT RUNNING ({exc})", None
    if reply.status == 401:
        refusal = _refusal(token, token_file)
        return UNKNOWN, listen, f"Agent: running on {listen}, but {refusal}", None
    if not reply.ok or not isinstance(reply.body, dict):
        reason = f"Agent: running on {listen}, but GET /v1/status answered {reply.status}"
        return DEGRADED, listen, reason, None
    if healthy(reply.body):
        return HEALTHY, listen, None, reply.body
    return DEGRADED, listen, describe(reply.body), reply.body


class _CannotTell(Exception):
    def __init__(self, reason: str, listen: str | None) -> None:
        super().__init__(reason)
        self.listen = listen


def _how_to_ask(args: argparse.Namespace) -> tuple[str, str | None, Path]:
    """The local API's address, the token (None: none found) and the token file."""
    from register_agent.config import load_config  # noqa: PLC0415 (lazy: start-up cost)
    from register_agent.errors import RegisterAgentError  # noqa: PLC0415

    try:
        config = load_config(args.config)
    except RegisterAgentError as exc:  # not 2: a monitoring check would read "not running"
        raise _CannotTell(f"status: cannot read the config: {exc}", args.listen) from exc
    listen = args.listen or config.local_api.listen
    token_file = (args.state_dir or config.state.directory) / TOKEN_FILE
    secret = config.local_api.token
    token = secret.get_secret_value().strip() if secret is not None else None
    try:
        return listen, token or _token_from(token_file), token_file
    except PermissionError as exc:
        raise _CannotTell(
            f"status: cannot read the local API token {token_file}; run as the agent's user "
            "or root (e.g. `sudo -u register-agent register-agent status`)",
            listen,
        ) from exc


def _token_from(path: Path) -> str | None:
    """The token the agent generated into its state directory; None when there is none
    (the agent never ran there, or its token is a systemd credential)."""
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _refusal(token: str | None, token_file: Path) -> str:
    if token is None:
        return (
            f"there is no token to ask it with: neither [local_api] token nor {token_file} "
            "(pass --state-dir, or run where the credential local-api-token is readable)"
        )
    return f"it refuses the token (from [local_api] token or {token_file})"


def healthy(status: dict[str, Any]) -> bool:
    """Healthy: the API answers, no alert, the printer and every reader fine.

    Operations waiting while the API answers are the outbox at work, not a fault: the caps
    (``[outbox] max_pending``, ``max_age_s``) raise an alert when waiting gets too long.
    An API state not checked yet (the first seconds after start) is not held against it.
    """
    return (
        status.get("register_api") in ("reachable", "unknown")
        and status.get("journal", "ok") == "ok"
        and not status.get("alerts")
        and _printer_state(status) in _PRINTER_FINE
        and all(_reader_state(line) == "ok" for line in status.get("readers", ()))
    )


def describe(status: dict[str, Any]) -> str:
    """One line for the till, then one line per alert."""
    readers = ", ".join(line.replace(": ", " ", 1) for line in status.get("readers", ()))
    parts = [
        f"Register API: {_API_WORDS.get(status.get('register_api', ''), 'unknown')}",
        f"outbox: {_outbox(status)}",
        f"printer: {_printer_words(status)}",
        f"readers: {readers or 'none'}",
    ]
    journal = status.get("journal", "ok")
    if journal != "ok":  # named only when it refuses sales: the line stays short
        parts.append(f"journal: {_JOURNAL_WORDS.get(journal, journal)}")
    alerts = [f"  alert: {alert}" for alert in status.get("alerts", ())]
    return "\n".join([" | ".join(parts), *alerts])


def _outbox(status: dict[str, Any]) -> str:
    pending = int(status.get("outbox_pending", 0))
    age = status.get("outbox_oldest_age_s")
    oldest = f" (oldest {_age(float(age))})" if pending and age is not None else ""
    review = int(status.get("outbox_review", 0))
    dead = int(status.get("outbox_dead", 0))
    claims = int(status.get("claims_unconfirmed", 0)), int(status.get("claims_review", 0))
    lost = (
        f"; reward claims {claims[0]} being checked, {claims[1]} in review" if any(claims) else ""
    )
    return f"{pending} pending{oldest}, {review} in review, {dead} refused{lost}"


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _printer_words(status: dict[str, Any]) -> str:
    """ "online" alone when all is well; otherwise the printer's own words."""
    line = str(status.get("printer", "unknown"))
    return "online" if _printer_state(status) == "online" else line


def _printer_state(status: dict[str, Any]) -> str:
    line = str(status.get("printer", ""))
    if line.startswith("none"):
        return "none"
    return line.partition(":")[0].strip()


def _reader_state(line: str) -> str:
    # "counter: ok" / "counter: down (detail)"
    return line.partition(": ")[2].split(" ", 1)[0]
