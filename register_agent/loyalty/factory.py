"""``make_loyalty``: the configured Register API version's services, built once over one
HTTP connection. The one place that picks a version; everything else asks the bundle.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from register_agent.config import ApiConfig, NewsletterConfig
from register_agent.loyalty.bundle import Loyalty
from register_agent.loyalty.domain import RegisterInfo
from register_agent.loyalty.http import RegisterHttp
from register_agent.loyalty.v1.bundle import v1_loyalty
from register_agent.loyalty.v3.bundle import v3_loyalty


class _Bundle(Protocol):
    """How each version's bundle is built (``v1.bundle``, ``v3.bundle``)."""

    def __call__(
        self,
        http: RegisterHttp,
        api_config: ApiConfig,
        newsletter: NewsletterConfig,
        *,
        register: RegisterInfo | None = None,
    ) -> Loyalty: ...


_BUNDLES: dict[str, _Bundle] = {"v1": v1_loyalty, "v3": v3_loyalty}


def make_loyalty(
    api_config: ApiConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    newsletter: NewsletterConfig | None = None,
    register: RegisterInfo | None = None,
) -> Loyalty:
    """The services for ``api.version`` with one HTTP client; close them with ``aclose()``.

    ``register`` primes the register info (e.g. remembered in the journal), so a v3 till
    that starts offline can still mint loyalty tokens without any API call. ``newsletter``
    names the program or subscription type of the counter's opt-in (unset: refused).
    """
    http = RegisterHttp(api_config, transport=transport)
    build = _BUNDLES[api_config.version]
    return build(http, api_config, newsletter or NewsletterConfig(), register=register)
