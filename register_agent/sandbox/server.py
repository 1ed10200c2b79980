"""The sandbox's HTTP plumbing: a threading stdlib server on loopback, the API pipeline
(route, fault, key, input, handler under the store's lock) and raw-socket fault modes.

``handle.start_sandbox()`` runs it in a thread for tests; ``serve_forever()`` is the CLI's
loop.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from register_agent.sandbox import (
    client_api,
    control,
    enrolment,
    giftcards,
    profile,
    v1,
    v3,
    v3_rewards,
    vouchers,
)
from register_agent.sandbox.faults import Fault, Faults
from register_agent.sandbox.keys import caller
from register_agent.sandbox.params import UNKNOWN_FIELDS, ApiError, Params, parse_form
from register_agent.sandbox.routes import NO_META, Call, Route, find_route, meta_for
from register_agent.sandbox.state import Store
from register_agent.sandbox.wire import cut, dump, read_body

log = logging.getLogger(__name__)
# enrolment's v3 routes first: GET /contacts/find-or-create must not be read as
# GET /contacts/{uuid} (the first route whose path matches wins)
TABLES = [v1.ROUTES, enrolment.V1_ROUTES, enrolment.V3_ROUTES, v3.ROUTES, v3_rewards.ROUTES]
TABLES += [profile.V1_ROUTES, profile.V3_ROUTES]
TABLES += [giftcards.V1_ROUTES, giftcards.V3_ROUTES, vouchers.REGISTER_ROUTES, *client_api.TABLES]
MAX_BODY = 1_000_000
REQUEST_LOG_SIZE = 20_000
_MAINTENANCE_PAGE = b"<!doctype html><title>Maintenance</title><h1>Be right back.</h1>\n"


class SandboxServer(ThreadingHTTPServer):
    """One sandbox: its store, its faults, and the connections it must cut on stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store: Store) -> None:
        self.store = store
        self.faults = Faults()
        #: every API request as it arrived (wall clock, method, path, fault met), oldest
        #: first; bounded so a long demo cannot grow it without end
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.stopping = threading.Event()  # ends held (timeout) and delayed requests
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that hung up (its own deadline, a test's cut) ends a faulted request
        # normally: no traceback on the console for it
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def stop(self) -> None:
        """Stop serving, end held requests and cut keep-alive connections."""
        self.stopping.set()
        self.faults.clear()  # ends the delayed requests
        self.shutdown()
        with self._connections_lock:
            for connection in self._connections:
                cut(connection)
        self.server_close()


class _Delay:
    """The latency fault: taken inside a handler at its commit point with the lock released,
    or after the handler for calls that change nothing."""

    def __init__(self, seconds: float, server: SandboxServer) -> None:
        self.seconds = seconds
        self.server = server

    def in_handler(self) -> None:
        if self.seconds:
            lock = self.server.store.lock
            lock.release()
            try:
                self.rest()
            finally:
                lock.acquire()

    def rest(self) -> None:
        seconds, self.seconds = self.seconds, 0.0
        if seconds:
            self.server.faults.hold(seconds)


class SandboxHandler(BaseHTTPRequestHandler):
    """One connection; keep-alive, Nagle off (else delayed ACKs cost 44 ms per request)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "register-agent-sandbox"
    server: SandboxServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, open_=False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self) -> None:
        """Every method: control routes, QR landing pages, else the Register API."""
        path, _, query = self.path.partition("?")
        try:
            body = self._body()
        except ValueError as exc:  # unreadable framing: answer and hang up
            self.close_connection = True
            self.send(413, dump({"message": str(exc)}))
            return
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            self._control(path, body)
        elif self.command == "GET" and (path.startswith("/s/") or path == "/l"):
            self.send(*control.landing(self.server, path, query))
        else:
            self._api(path, query, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError(f"a body of {length} bytes is more than a Register API call sends")
        return self.rfile.read(length) if length > 0 else b""

    def _control(self, path: str, body: bytes) -> None:
        host = self.client_address[0]
        if not (host.startswith(("127.", "::ffff:127.")) or host == "::1"):
            self.send(403, dump({"message": "The sandbox's control routes answer loopback only."}))
            return
        status, payload, content_type = control.handle(self.server, self.command, path, body)
        self.send(status, payload, content_type)

    def _api(self, path: str, query: str, body: bytes) -> None:
        try:
            route, args = find_route(TABLES, self.command, path)
        except ApiError as exc:
            self.send(exc.status, dump(exc.body()))
            return
        fault = self.server.faults.pick(self.command, path)
        entry: dict[str, Any] = {
            "at": time.time(),
            "method": self.command,
            "path": path,
            "fault": fault.mode if fault else None,
            "user_agent": self.headers.get("User-Agent", ""),
            # the fields the call does not know (accepted and ignored, as the real API
            # does); filled in once the handler has read the input
            "unknown_fields": [],
        }
        self.server.requests.append(entry)
        if fault is not None and self._short_circuit(fault):
            return
        if fault is not None and fault.mode == "pos_transaction_gone":
            self._forget_pos_transaction(query, body)
        delay = _Delay(
            fault.latency_ms / 1000 if fault and fault.mode == "latency" else 0, self.server
        )
        unknown: set[str] = set()
        token = UNKNOWN_FIELDS.set(unknown)
        try:
            status, payload = self._run(route, args, query, body, delay)
        finally:
            UNKNOWN_FIELDS.reset(token)
        entry["unknown_fields"] = sorted(unknown)
        delay.rest()
        if fault is not None and fault.mode == "drop_after_commit":
            self._drop()  # committed above; the client never hears of it
            return
        if fault is not None and fault.mode == "error_500_after_commit":
            status, payload = 500, {"message": "Server Error"}  # committed all the same
        self.send(status, dump(payload))

    def _short_circuit(self, fault: Fault) -> bool:
        """Faults that answer (or hang up) instead of the API; nothing is applied."""
        if fault.mode == "error_503":
            self.send(503, _MAINTENANCE_PAGE, "text/html; charset=utf-8")
        elif fault.mode == "error_429":
            headers = (
                ("Retry-After", str(fault.retry_after)),
                ("X-RateLimit-Limit", "5000"),
                ("X-RateLimit-Remaining", "0"),
            )
            self.send(429, dump({"message": "Too Many Attempts."}), headers=headers)
        elif fault.mode == "error_500":
            self.send(500, dump({"message": "Server Error"}))
        elif fault.mode == "in_progress_60001":
            self.send(400, dump(ApiError(60001, "Credit reception creating in progress.").body()))
        elif fault.mode == "error_1003":
            self.send(400, dump(ApiError(1003, "Invalid input.").body()))
        elif fault.mode == "timeout":
            self.server.stopping.wait(fault.hold_s)
            self._drop()
        else:
            return False
        return True

    def _forget_pos_transaction(self, query: str, body: bytes) -> None:
        """The POS transaction this request names no longer exists (expired, or removed on
        the server): the route then answers 1027 from the state, as the real API would."""
        try:
            params = self._params(query, body)
        except ApiError:
            return  # the route refuses the same body itself
        named = params.get("pos_transaction_uuid") or params.get("pos_transaction_id")
        with self.server.store.lock:
            self.server.store.pos_transactions.pop(str(named or ""), None)

    def _drop(self) -> None:
        """Close the TCP connection without a byte of response: a real dropped connection."""
        self.close_connection = True
        cut(self.connection)

    def _run(
        self, route: Route, args: tuple[str, ...], query: str, body: bytes, delay: _Delay
    ) -> tuple[int, Any]:
        store = self.server.store
        try:
            register = caller(store.seed, self.headers.get("Authorization", ""), route.version)
            params = self._params(query, body)
            base = f"http://{self.headers.get('Host') or self.server.url.split('//')[1]}"
            call = Call(store, register, params, args, base, delay.in_handler)
            with store.lock:
                reply = route.handler(call)
        except ApiError as exc:
            return exc.status, exc.body()
        except Exception:  # a sandbox bug must answer 500, not kill the connection
            log.exception("sandbox: %s %s failed", self.command, self.path.partition("?")[0])
            return 500, {"message": "Server Error"}
        if reply.meta is NO_META:
            return 200, {"data": reply.data}
        return 200, {"data": reply.data, "meta": meta_for(route.version, reply.meta)}

    def _params(self, query: str, body: bytes) -> Params:
        """Query and body merged, as Laravel's ``input()`` sees them (the body wins)."""
        params = parse_form(query)
        if self.command in ("POST", "PUT", "PATCH"):
            params.update(read_body(self.headers.get("Content-Type", ""), body))
        elif body.strip():
            raise ApiError(1003, "Invalid input: a GET sends its parameters in the query.")
        return params
