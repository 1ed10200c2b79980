"""The one HTTP connection of the agent to the Register API (httpx), shared by v1 and v3.

It holds a single ``httpx.AsyncClient`` (connection reuse), sets the headers and explicit
timeouts, encodes forms, checks the ``{data, meta}`` envelope, maps every outcome through
``outcomes`` and retries inline only where ``retries`` allows, all within the call's
deadline. The transport is a parameter: tests pass ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr, TypeAdapter, ValidationError
from tenacity import AsyncRetrying, retry_if_exception

from register_agent import __version__
from register_agent.config import ApiConfig
from register_agent.errors import ConfigError, LoyaltyApiError
from register_agent.loyalty import outcomes, retries, server_clock
from register_agent.loyalty.forms import FormFields, encode_form, form_pairs
from register_agent.loyalty.outcomes import Call, Envelope
from register_agent.loyalty.retries import Deadline, Sleep

log = logging.getLogger(__name__)

T = TypeVar("T")
Parse = Callable[[Envelope], T]

USER_AGENT = f"register-agent/{__version__}"
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}

#: told of every attempt: (method, seconds, outcome); the outcome is "ok", the API's error
#: code, the HTTP status, or "transport" (nothing came back); never a path or a value
CallObserver = Callable[[str, float, str], None]
_observers: list[CallObserver] = []


def observe_calls(observer: CallObserver) -> Callable[[], None]:
    """Register ``observer`` (the metrics); returns the function that removes it again."""
    _observers.append(observer)
    return lambda: _observers.remove(observer)


def _tell(method: str, started: float, outcome: str) -> None:
    elapsed = time.monotonic() - started
    for observer in _observers:
        try:
            observer(method, elapsed, outcome)
        except Exception:  # a metrics bug must never fail a call that succeeded
            log.exception("a call observer failed")


def _outcome_of(exc: LoyaltyApiError) -> str:
    code = getattr(exc, "code", None)
    if code is not None:
        return str(code)
    status = getattr(exc, "status", 0)
    return str(status) if status else "transport"


class _QueryRedactor(logging.Filter):
    """Drops the query from the URLs httpx logs at INFO: it may hold a card value."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) else arg
                for arg in record.args
            )
        return True


# card values are never logged in full; httpx logs every request's URL, query included
logging.getLogger("httpx").addFilter(_QueryRedactor())


class _SendWatch:
    """Learns from httpcore's trace events whether request bytes started to leave.

    Only the agent's own ``httpx.AsyncHTTPTransport`` reports these events; with any other
    transport (a test's MockTransport) the request counts as sent from the start, which
    is the cautious reading.
    """

    def __init__(self, *, traced: bool) -> None:
        self.sent = not traced

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        if event.endswith("send_request_headers.started"):
            self.sent = True


def parse_with(adapter: TypeAdapter[T]) -> Parse[T]:
    """A parser that validates ``data`` into a model (used by the v1 and v3 route sets)."""

    def parse(envelope: Envelope) -> T:
        return adapter.validate_python(envelope.data)

    return parse


def _headers(config: ApiConfig) -> dict[str, str]:
    # the key is only read here, into the client's headers (whose repr masks it)
    assert config.api_key is not None
    headers = {
        "Authorization": f"Bearer {config.api_key.get_secret_value()}",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    if config.partner_id:
        headers["X-Partner-ID"] = config.partner_id
    return headers


class RegisterHttp:
    """Sends Register API calls for one register (one API key) and reports their outcome."""

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
        self.prefix = f"/api/{config.version}/register"
        self._config = config
        self._sleep = sleep
        # httpx's own transport (transport None: it also honours HTTPS_PROXY) reports
        # httpcore trace events; connect errors are retried by us, not by httpcore
        self._traced = transport is None or isinstance(transport, httpx.AsyncHTTPTransport)
        self._client = httpx.AsyncClient(
            base_url=config.base_url,
            transport=transport,
            verify=True,  # always: there is deliberately no setting to turn it off
            headers=_headers(config),
            timeout=self._timeout(None),
            follow_redirects=False,
            event_hooks={"response": [server_clock.on_response]},  # the clock skew metric
        )

    def __repr__(self) -> str:
        # the client's headers hold the API key: never let a repr show them
        return f"RegisterHttp({self._config.base_url}{self.prefix})"

    def use_api_key(self, api_key: SecretStr) -> None:
        """Send this key from the next request on (a reload after the key was replaced)."""
        self._config = self._config.model_copy(update={"api_key": api_key})
        self._client.headers.update(_headers(self._config))

    def default_deadline(self) -> Deadline:
        """A call without a deadline of its own gets one connection plus one answer's time."""
        return Deadline.after(self._config.connect_timeout_s + self._config.read_timeout_s)

    def counter_deadline(self) -> Deadline:
        """The deadline of a call a cashier waits for (``api.counter_deadline_s``)."""
        return Deadline.after(self._config.counter_deadline_s)

    async def aclose(self) -> None:
        await self._client.aclose()

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
        return await self.call("POST", path, parse, form=form, deadline=deadline)

    async def put(
        self,
        path: str,
        parse: Parse[T],
        *,
        form: FormFields | None = None,
        deadline: Deadline | None = None,
    ) -> T:
        """PUT ``prefix + path`` as a form; retried like a POST (only when nothing was sent)."""
        return await self.call("PUT", path, parse, form=form, deadline=deadline)

    async def call(
        self,
        method: str,
        path: str,
        parse: Parse[T],
        *,
        params: FormFields | None = None,
        form: FormFields | None = None,
        deadline: Deadline | None = None,
    ) -> T:
        """One call with the inline retries the outcome table allows, within ``deadline``."""
        call = Call(method, self.prefix + path)
        deadline = deadline or self.default_deadline()
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda error: retries.may_retry(method, error)),
            wait=retries.wait_for,
            stop=retries.stop_for(deadline),
            sleep=self._sleep,
            before_sleep=lambda state: log.info(
                "%s: attempt %d failed (%s); trying again",
                call,
                state.attempt_number,
                state.outcome.exception() if state.outcome else "?",
            ),
            reraise=True,
        )
        return await retrying(self._attempt, call, parse, params, form, deadline)

    async def _attempt(
        self,
        call: Call,
        parse: Parse[T],
        params: FormFields | None,
        form: FormFields | None,
        deadline: Deadline,
    ) -> T:
        started = time.monotonic()
        try:
            result = await self._attempt_once(call, parse, params, form, deadline)
        except LoyaltyApiError as exc:
            _tell(call.method, started, _outcome_of(exc))
            raise
        _tell(call.method, started, "ok")
        return result

    async def _attempt_once(
        self,
        call: Call,
        parse: Parse[T],
        params: FormFields | None,
        form: FormFields | None,
        deadline: Deadline,
    ) -> T:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise outcomes.deadline_error(call, sent=False)
        watch = _SendWatch(traced=self._traced)
        request = self._client.build_request(
            call.method,
            call.path,
            params=tuple(form_pairs(params)) if params else None,
            content=encode_form(form) if form is not None else None,
            headers=_FORM_HEADERS if form is not None else None,
            timeout=self._timeout(remaining),
            extensions={"trace": watch},
        )
        try:
            async with asyncio.timeout(remaining):
                response = await self._client.send(request)
        except TimeoutError as exc:
            raise outcomes.deadline_error(call, sent=watch.sent) from exc
        except httpx.RequestError as exc:
            raise outcomes.transport_error(call, exc, sent=watch.sent) from exc
        return self._read(call, response, parse)

    def _read(self, call: Call, response: httpx.Response, parse: Parse[T]) -> T:
        if not response.is_success:
            raise outcomes.status_error(call, response)
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
