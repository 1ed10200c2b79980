"""The agent's HTTP connections to Leat (httpx): ``ApiHttp`` is the one implementation,
``RegisterHttp`` its Register API flavour (v1 and v3: the register's API key, form bodies),
``client_http.ClientApiHttp`` its client-API flavour (the account's token, JSON bodies).

Each holds a single ``httpx.AsyncClient`` (connection reuse), sets the headers and explicit
timeouts, encodes the body, checks the ``{data, meta}`` envelope, maps every outcome through
``outcomes`` and retries inline only where ``retries`` allows, all within the call's
deadline. The transport is a parameter: tests pass ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr, TypeAdapter, ValidationError

from register_agent import __version__
from register_agent.config import ApiConfig
from register_agent.errors import ConfigError, LoyaltyApiError
from register_agent.loyalty import lean_transport, outcomes, retries, server_clock
from register_agent.loyalty.call_watch import SendWatch, observe_calls, tell
from register_agent.loyalty.forms import FormFields, RequestUrls, encode_form
from register_agent.loyalty.outcomes import Call, Envelope
from register_agent.loyalty.retries import Deadline, Sleep

log = logging.getLogger(__name__)

T = TypeVar("T")
Parse = Callable[[Envelope], T]

USER_AGENT = f"register-agent/{__version__}"

__all__ = ["ApiHttp", "RegisterHttp", "observe_calls", "parse_with"]


def parse_with(adapter: TypeAdapter[T]) -> Parse[T]:
    """A parser that validates ``data`` into a model (used by the v1 and v3 route sets)."""

    def parse(envelope: Envelope) -> T:
        return adapter.validate_python(envelope.data)

    return parse


def _headers(key: SecretStr, config: ApiConfig) -> dict[str, str]:
    # the key is only read here, into the client's headers (whose repr masks it)
    headers = {
        "Authorization": f"Bearer {key.get_secret_value()}",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    if config.partner_id:
        headers["X-Partner-ID"] = config.partner_id
    return headers


#: a request body as its bytes and Content-Type
Encoded = tuple[bytes, str]


class ApiHttp:
    """Sends calls under one key and prefix and reports their outcome; the flavours say
    which key, which prefix and how a body is written (``_encode``)."""

    def __init__(
        self,
        config: ApiConfig,
        *,
        key: SecretStr,
        prefix: str,
        refused: tuple[str, str],
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = retries.sleep,
    ) -> None:
        self.prefix = prefix
        self._config = config
        self._refused = refused  # a 401's words: which key, and how to replace it
        self._sleep = sleep
        if transport is None:
            # the agent's lean transport, unless the environment names a proxy for the
            # base URL: then httpx's own (transport None), which speaks to proxies
            transport = lean_transport.for_url(config.base_url)
        self._transport = transport
        # these transports report the trace event that tells whether bytes left; connect
        # errors are retried by us, not by the transport
        self._traced = transport is None or isinstance(
            transport, httpx.AsyncHTTPTransport | lean_transport.LeanTransport
        )
        self._client = httpx.AsyncClient(
            base_url=config.base_url,
            transport=transport,
            verify=True,  # always: there is deliberately no setting to turn it off
            headers=_headers(key, config),
            timeout=self._timeout(None),
            follow_redirects=False,
            event_hooks={"response": [server_clock.on_response]},  # the clock skew metric
        )
        self._urls = RequestUrls(str(self._client.base_url))

    def __repr__(self) -> str:
        # the client's headers hold the key: never let a repr show them
        return f"{type(self).__name__}({self._config.base_url}{self.prefix})"

    def use_key(self, key: SecretStr) -> None:
        """Send this key from the next request on (a reload after the key was replaced)."""
        self._client.headers.update(_headers(key, self._config))

    def default_deadline(self) -> Deadline:
        """A call without a deadline of its own gets one connection plus one answer's time."""
        return Deadline.after(self._config.connect_timeout_s + self._config.read_timeout_s)

    def counter_deadline(self) -> Deadline:
        """The deadline of a call a cashier waits for (``api.counter_deadline_s``)."""
        return Deadline.after(self._config.counter_deadline_s)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _encode(self, body: Any) -> Encoded:
        raise NotImplementedError

    async def call(
        self,
        method: str,
        path: str,
        parse: Parse[T],
        *,
        params: FormFields | None = None,
        body: Any = None,
        deadline: Deadline | None = None,
    ) -> T:
        """One call with the inline retries the outcome table allows, within ``deadline``:
        a GET on any transient failure, a write only when nothing was sent or on 429."""
        call = Call(method, self.prefix + path)
        deadline = deadline or self.default_deadline()
        encoded = self._encode(body) if body is not None else None
        attempt = 1
        while True:
            try:
                return await self._attempt(call, parse, params, encoded, deadline)
            except LoyaltyApiError as error:
                wait = retries.next_wait(method, attempt, error, deadline)
                if wait is None:
                    raise
                log.info("%s: attempt %d failed (%s); trying again", call, attempt, error)
                await self._sleep(wait)
                attempt += 1

    async def _attempt(
        self,
        call: Call,
        parse: Parse[T],
        params: FormFields | None,
        encoded: Encoded | None,
        deadline: Deadline,
    ) -> T:
        started = time.monotonic()
        try:
            result = await self._attempt_once(call, parse, params, encoded, deadline)
        except LoyaltyApiError as exc:
            tell(call.method, started, exc)
            raise
        tell(call.method, started, None)
        return result

    async def _attempt_once(
        self,
        call: Call,
        parse: Parse[T],
        params: FormFields | None,
        encoded: Encoded | None,
        deadline: Deadline,
    ) -> T:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise outcomes.deadline_error(call, sent=False)
        # a GET is retried whatever happened (it changes nothing), so whether its bytes left
        # does not matter: it skips the trace hook and counts as sent
        watch = SendWatch(traced=self._traced) if call.method != "GET" else None
        # built here rather than by the client's build_request, which parses and merges the
        # base URL again for every request; the same URL and headers (tests compare them)
        url = self._urls.of(call.path, params)
        headers = self._client.headers.copy()
        if encoded:
            headers["Content-Type"] = encoded[1]
        timeouts: dict[str, Any] = {"timeout": self._timeout(remaining).as_dict()}
        if watch is not None:
            timeouts["trace"] = watch
        request = httpx.Request(
            call.method,
            url,
            content=encoded[0] if encoded else None,
            headers=headers,
            extensions=timeouts,
        )
        try:
            async with asyncio.timeout(remaining):
                response = await self._send(request)
        except TimeoutError as exc:
            raise outcomes.deadline_error(call, sent=watch is None or watch.sent) from exc
        except httpx.RequestError as exc:
            sent = watch is None or watch.sent
            raise outcomes.transport_error(call, exc, sent=sent) from exc
        return self._read(call, response, parse)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:  # httpx's own, speaking to the environment's proxy
            return await self._client.send(request)
        return await lean_transport.send(self._transport, request)

    def _read(self, call: Call, response: httpx.Response, parse: Parse[T]) -> T:
        if not response.is_success:
            raise outcomes.status_error(call, response, refused=self._refused)
        envelope = outcomes.envelope(call, response)
        try:
            return parse(envelope)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:5])
            raise outcomes.malformed(
                call, response.status_code, f"lacks or mistypes fields ({fields})"
            ) from exc

    def _timeout(self, remaining: float | None) -> httpx.Timeout:
        connect = self._config.connect_timeout_s
        read = self._config.read_timeout_s
        if remaining is not None:
            connect, read = min(connect, remaining), min(read, remaining)
        return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


class RegisterHttp(ApiHttp):
    """Register API calls for one register (one API key), bodies as PHP-style forms."""

    def __init__(
        self,
        config: ApiConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = retries.sleep,
    ) -> None:
        if config.api_key is None:
            raise ConfigError(
                "api.api_key is not set; store the register's API key as the systemd "
                "credential api-key (or run against the sandbox)"
            )
        prefix = f"/api/{'v3' if config.version == 'orders' else config.version}/register"
        super().__init__(
            config,
            key=config.api_key,
            prefix=prefix,
            refused=outcomes.KEY_REFUSED,
            transport=transport,
            sleep=sleep,
        )

    def use_api_key(self, api_key: SecretStr) -> None:
        self.use_key(api_key)

    def _encode(self, body: Any) -> Encoded:
        return encode_form(body), "application/x-www-form-urlencoded"

    async def get(
        self,
        path: str,
        parse: Parse[T],
        *,
        params: FormFields | None = None,
        deadline: Deadline | None = None,
    ) -> T:
        """GET ``prefix + path``; safe to repeat, so any transient failure is retried."""
        return await self.call("GET", path, parse, params=params, deadline=deadline)

    async def post(
        self,
        path: str,
        parse: Parse[T],
        *,
        form: FormFields | None = None,
        deadline: Deadline | None = None,
    ) -> T:
        """POST ``prefix + path`` as a form; repeated only when nothing was sent or on 429."""
        return await self.call("POST", path, parse, body=form, deadline=deadline)

    async def put(
        self,
        path: str,
        parse: Parse[T],
        *,
        form: FormFields | None = None,
        deadline: Deadline | None = None,
    ) -> T:
        """PUT ``prefix + path`` as a form; retried like a POST (only when nothing was sent)."""
        return await self.call("PUT", path, parse, body=form, deadline=deadline)
