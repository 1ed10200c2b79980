"""The local API's bearer token: checked on every request before anything else is read,
in constant time; and, when the installer gave none, one generated once and kept in the
state directory for the installer to hand to the POS developer.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from register_agent.api.problems import error_response
from register_agent.api.session import COOKIE, CSRF_HEADER, EVENTS_PATH, Sessions, Tickets
from register_agent.config import LocalApiConfig
from register_agent.errors import ConfigError

log = logging.getLogger(__name__)

#: the generated token's file in the state directory, readable by the agent's user only
TOKEN_FILE = "local-api-token"  # noqa: S105 (a file name, not a secret)
#: shorter configured tokens are accepted but reported: they can be guessed
MIN_TOKEN_LENGTH = 16
#: what a browser session may do without its CSRF token: read
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerGuard:
    """Refuses any request without the right credential with a 401 (403 for a browser's
    state change without its CSRF token or from a foreign origin).

    The credential is the ``Authorization: Bearer`` token (the POS), else the counter
    page's session cookie (``session.py``), else, for ``GET /v1/events`` only, a stream
    ticket in the query. A plain ASGI middleware, so it is checked before the body is read
    or parsed, and unknown paths answer 401 too. ``open_paths`` and the paths under
    ``open_prefix`` (the API's documentation and its assets) need no credential.
    """

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        open_paths: frozenset[str],
        open_prefix: str | None = None,
        *,
        sessions: Sessions | None = None,
        tickets: Tickets | None = None,
        origins: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self._token = token.encode("utf-8")
        self._open_paths = open_paths
        self._open_prefix = open_prefix
        self._sessions = sessions
        self._tickets = tickets
        self._origins = origins

    def _open(self, path: str) -> bool:
        if path in self._open_paths:
            return True
        # ".." never reaches a file outside the assets: StaticFiles refuses it itself
        return self._open_prefix is not None and path.startswith(self._open_prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._open(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        presented = _bearer(scope["headers"])
        if presented is None:
            refusal = self._browser_refusal(request)
            if refusal is None:
                await self.app(scope, receive, send)
                return
            await refusal(scope, receive, send)
            return
        if hmac.compare_digest(presented, self._token):
            await self.app(scope, receive, send)
            return
        response = error_response(
            401,
            "unauthorized",
            "this token is not the till's token; check the POS settings",
            headers={"WWW-Authenticate": 'Bearer realm="register-agent", error="invalid_token"'},
        )
        await response(scope, receive, send)

    def _browser_refusal(self, request: Request) -> Response | None:
        """None when a stream ticket or the session cookie lets the request in; else why not."""
        ticket = request.query_params.get("ticket")
        if ticket is not None and self._tickets is not None and request.url.path == EVENTS_PATH:
            if self._tickets.take(ticket):
                return None
            return error_response(
                401, "ticket_refused", "this stream ticket is used or expired; get a new one"
            )
        cookie = request.cookies.get(COOKIE)
        if cookie is None or self._sessions is None:
            return error_response(
                401,
                "unauthorized",
                "send the till's token: 'Authorization: Bearer <token>' (ask the installer)",
                headers={"WWW-Authenticate": 'Bearer realm="register-agent"'},
            )
        return self._session_refusal(request, self._sessions, cookie)

    def _session_refusal(
        self, request: Request, sessions: Sessions, cookie: str
    ) -> Response | None:
        session_id = sessions.check(cookie)
        if session_id is None:
            return error_response(
                401, "session_expired", "the counter page's session has ended; log in again"
            )
        if request.method in SAFE_METHODS:
            return None
        if not _same_or_listed(request, self._origins):
            return error_response(
                403,
                "origin_not_allowed",
                "this web page may not change the till; ask the installer to add its address "
                "to [local_api] cors_origins",
            )
        if not sessions.csrf_matches(session_id, request.headers.get(CSRF_HEADER)):
            return error_response(
                403,
                "csrf_token_missing",
                "send the session's csrf_token as 'X-CSRF-Token' with every change; "
                "reload the page and log in again",
            )
        return None


def _same_or_listed(request: Request, origins: tuple[str, ...]) -> bool:
    """A browser names the page's origin on every change; a request without one (not
    from a browser's page) is let through: the CSRF token still guards it."""
    origin = request.headers.get("origin")
    if origin is None or origin in origins:
        return True
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def _bearer(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The token of the first ``Authorization`` header, as sent (bytes); None without one."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            token = token.strip()
            return token if scheme.lower() == b"bearer" and token else None
    return None


def local_api_token(config: LocalApiConfig, state_directory: Path) -> str:
    """The token the POS must send: ``[local_api] token`` (the credential local-api-token)
    when given, else the one in ``<state_directory>/local-api-token``, made on first use.

    The token itself is never logged; the file's path is, so the installer can find it.
    """
    if config.token is not None and config.token.get_secret_value().strip():
        token = config.token.get_secret_value().strip()
        if len(token) < MIN_TOKEN_LENGTH:
            log.warning(
                "local_api.token is shorter than %d characters; a longer one is safer",
                MIN_TOKEN_LENGTH,
            )
        return token
    return _token_from_file(state_directory / TOKEN_FILE)


def _token_from_file(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip() if path.exists() else ""
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}); check its owner") from exc
    if token:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
            log.warning("%s was readable by other users; made private (0600)", path)
        log.info("local API token: from %s", path)
        return token
    token = secrets.token_urlsafe(32)
    _write_private(path, token)
    log.warning("local API token: generated and stored in %s; give it to the POS developer", path)
    return token


def _write_private(path: Path, token: str) -> None:
    """Written beside, synced, then renamed: a crash leaves the old file or the new one."""
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
        _sync_directory(path.parent)  # the POS keeps this token: the rename must last
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot store the local API token ({exc.strerror}); check that "
            "state.directory exists and belongs to the agent's user"
        ) from exc


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
